-- Segment membership over time, per live contact: one row per stay in a segment, from the contact timeline's
-- segment `added`/`removed` events (lead_event_log); a current membership without an `added` event (older than
-- the timeline) starts at lead_lists_leads.date_added. removed_at null: still a member.
with events as (
    select contact_id, object_id as segment_id, action, date_added, lead_event_id
    from {{ ref('stg_mautic__lead_event_log') }}
    where object = 'segment' and action in ('added', 'removed') and object_id is not null
),
stays as (
    select contact_id, segment_id, action, date_added, lead_event_id,
           lead(date_added) over (partition by contact_id, segment_id order by date_added, lead_event_id) as next_at,
           lead(action) over (partition by contact_id, segment_id order by date_added, lead_event_id) as next_action
    from events
),
from_events as (
    select contact_id, segment_id, date_added as added_at,
           case when next_action = 'removed' then next_at end as removed_at, lead_event_id
    from stays where action = 'added'
),
without_events as (
    select m.contact_id, m.segment_id, m.date_added as added_at, cast(null as {{ dbt.type_timestamp() }}) as removed_at,
           cast(null as {{ dbt.type_bigint() }}) as lead_event_id
    from {{ ref('stg_mautic__lead_lists_leads') }} m
    where not m.manually_removed
      and not exists (select 1 from events e where e.contact_id = m.contact_id and e.segment_id = m.segment_id)
),
all_stays as (select * from from_events union all select * from without_events)
select
    {{ dbt.concat(["cast(s.contact_id as " ~ dbt.type_string() ~ ")", "'-'", "cast(s.segment_id as " ~ dbt.type_string() ~ ")", "'-'", "cast(s.added_at as " ~ dbt.type_string() ~ ")"]) }} as membership_id,
    s.contact_id, s.segment_id, seg.segment_name, s.added_at, s.removed_at, s.removed_at is null as is_current
from all_stays s
join {{ ref('stg_mautic__contacts') }} live on live.contact_id = s.contact_id
left join {{ ref('stg_mautic__segments') }} seg on seg.segment_id = s.segment_id
