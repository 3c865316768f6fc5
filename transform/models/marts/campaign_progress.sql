-- Per campaign and live contact: membership (added, exited, removed) and how far the contact went: events
-- executed, events scheduled, the last event executed and when.
with events as (
    select l.campaign_id, l.contact_id,
           sum(case when not l.is_scheduled then 1 else 0 end) as events_executed,
           sum(case when l.is_scheduled then 1 else 0 end) as events_scheduled,
           max(case when not l.is_scheduled then l.date_triggered end) as last_event_at
    from {{ ref('stg_mautic__campaign_lead_event_log') }} l
    group by l.campaign_id, l.contact_id
),
last_event as (
    select campaign_id, contact_id, event_id from (
        select campaign_id, contact_id, event_id,
               row_number() over (partition by campaign_id, contact_id
                                  order by date_triggered desc, campaign_log_id desc) as n
        from {{ ref('stg_mautic__campaign_lead_event_log') }} where not is_scheduled
    ) ranked where n = 1
),
members as (
    select campaign_id, contact_id from {{ ref('stg_mautic__campaign_leads') }}
    union select campaign_id, contact_id from events
)
select
    {{ dbt.concat(["cast(m.campaign_id as " ~ dbt.type_string() ~ ")", "'-'", "cast(m.contact_id as " ~ dbt.type_string() ~ ")"]) }} as campaign_contact_id,
    m.campaign_id, camp.campaign_name, m.contact_id,
    cl.date_added, cl.date_last_exited, coalesce(cl.manually_removed, false) as manually_removed,
    case when cl.contact_id is null then 'left' when cl.manually_removed then 'removed' else 'active' end
        as membership_status,
    cast(coalesce(ev.events_executed, 0) as {{ dbt.type_bigint() }}) as events_executed,
    cast(coalesce(ev.events_scheduled, 0) as {{ dbt.type_bigint() }}) as events_scheduled,
    ev.last_event_at, le.event_id as last_event_id, ce.event_name as last_event_name
from members m
join {{ ref('stg_mautic__contacts') }} live on live.contact_id = m.contact_id
left join {{ ref('stg_mautic__campaign_leads') }} cl on cl.campaign_id = m.campaign_id and cl.contact_id = m.contact_id
left join events ev on ev.campaign_id = m.campaign_id and ev.contact_id = m.contact_id
left join last_event le on le.campaign_id = m.campaign_id and le.contact_id = m.contact_id
left join {{ ref('stg_mautic__campaign_events') }} ce on ce.event_id = le.event_id
left join {{ ref('stg_mautic__campaigns') }} camp on camp.campaign_id = m.campaign_id
