-- Per email and per live contact: sends, opens, clicks (page hits carrying the email), bounces and
-- unsubscribes (do-not-contact entries on the email channel naming the email), with first and last dates.
{%- set B = dbt.type_bigint() %}
with live as (select contact_id from {{ ref('stg_mautic__contacts') }}),
sends as (
    select email_id, contact_id, count(*) as sent, sum(case when is_read then 1 else 0 end) as read,
           sum(open_count) as opens, sum(case when is_failed then 1 else 0 end) as failed,
           min(date_sent) as first_sent_at, max(date_sent) as last_sent_at,
           min(date_read) as first_read_at, max(coalesce(last_opened, date_read)) as last_read_at
    from {{ ref('stg_mautic__email_stats') }} where email_id is not null
    group by email_id, contact_id
),
clicks as (
    select email_id, contact_id, count(*) as clicked, min(date_hit) as first_clicked_at,
           max(date_hit) as last_clicked_at
    from {{ ref('stg_mautic__page_hits') }} where email_id is not null
    group by email_id, contact_id
),
dnc as (
    select channel_id as email_id, contact_id,
           sum(case when reason = 2 then 1 else 0 end) as bounced,
           sum(case when reason = 1 then 1 else 0 end) as unsubscribed,
           min(case when reason = 2 then date_added end) as bounced_at,
           min(case when reason = 1 then date_added end) as unsubscribed_at
    from {{ ref('stg_mautic__do_not_contact') }}
    where channel = 'email' and channel_id is not null
    group by channel_id, contact_id
),
pairs as (
    select email_id, contact_id from sends
    union select email_id, contact_id from clicks
    union select email_id, contact_id from dnc
)
select
    {{ dbt.concat(["cast(p.email_id as " ~ dbt.type_string() ~ ")", "'-'", "cast(p.contact_id as " ~ dbt.type_string() ~ ")"]) }} as engagement_id,
    p.email_id, e.email_name, p.contact_id,
    cast(coalesce(s.sent, 0) as {{ B }}) as sent,
    cast(coalesce(s.read, 0) as {{ B }}) as read,
    cast(coalesce(s.opens, 0) as {{ B }}) as opens,
    cast(coalesce(c.clicked, 0) as {{ B }}) as clicked,
    cast(coalesce(d.bounced, 0) as {{ B }}) as bounced,
    cast(coalesce(d.unsubscribed, 0) as {{ B }}) as unsubscribed,
    cast(coalesce(s.failed, 0) as {{ B }}) as failed,
    s.first_sent_at, s.last_sent_at, s.first_read_at, s.last_read_at,
    c.first_clicked_at, c.last_clicked_at, d.bounced_at, d.unsubscribed_at
from pairs p
join live on live.contact_id = p.contact_id
left join sends s on s.email_id = p.email_id and s.contact_id = p.contact_id
left join clicks c on c.email_id = p.email_id and c.contact_id = p.contact_id
left join dnc d on d.email_id = p.email_id and d.contact_id = p.contact_id
left join {{ ref('stg_mautic__emails') }} e on e.email_id = p.email_id
