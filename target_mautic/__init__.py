"""target-mautic: a Singer target that upserts contacts, companies and memberships into Mautic."""
