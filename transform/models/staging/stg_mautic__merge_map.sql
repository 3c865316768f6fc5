-- Every merged-away contact (loser) and the contact that survives it today: merge chains followed to their end
-- (A merged into B, later B into C: A -> C). Mautic merges outside the API (forms, the UI, the deduplicate
-- command) and rewrites lead_id in place; this map is the defence in depth for rows still under a loser.
with recursive merges as (
    select cast(loser_id as {{ dbt.type_bigint() }}) as loser_id, cast(victor_id as {{ dbt.type_bigint() }}) as victor_id, merged_at
    from {{ mautic_source('contact_merges') }} src
),
latest as (  -- a loser is merged once; should the log hold two rows, the later one counts
    select loser_id, victor_id from (
        select loser_id, victor_id,
               row_number() over (partition by loser_id order by merged_at desc, victor_id desc) as n
        from merges
    ) ranked where n = 1
),
chain as (
    select loser_id, victor_id as contact_id, 1 as depth from latest
    union all
    select chain.loser_id, latest.victor_id, chain.depth + 1
    from chain join latest on latest.loser_id = chain.contact_id
    where chain.depth < 50
)
select loser_id, contact_id, depth as merge_depth
from (
    select chain.*, row_number() over (partition by loser_id order by depth desc) as n from chain
) deepest
where n = 1
