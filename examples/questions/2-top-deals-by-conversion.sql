-- Top deals by conversion: the share of sessions that viewed a deal and went on to buy it.
WITH sessions AS (
  SELECT deal_id, session_id, bool_or(event_type = 'purchase') AS bought
  FROM shop.events
  GROUP BY deal_id, session_id
)
SELECT s.deal_id,
       d.title,
       count(*)                                                  AS sessions,
       count(*) FILTER (WHERE bought)                            AS purchases,
       round(100.0 * count(*) FILTER (WHERE bought) / count(*), 2) AS conversion_pct
FROM sessions s
JOIN shop.deals d USING (deal_id)
GROUP BY s.deal_id, d.title
ORDER BY conversion_pct DESC, s.deal_id
LIMIT 10
