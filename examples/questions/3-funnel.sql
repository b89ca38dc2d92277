-- The view -> click -> cart -> purchase funnel: sessions reaching each step.
WITH steps(step, event_type) AS (
  VALUES (1, 'view'), (2, 'click'), (3, 'add_to_cart'), (4, 'purchase')
),
reached AS (
  SELECT s.step, s.event_type, count(DISTINCT e.session_id) AS sessions
  FROM steps s
  LEFT JOIN shop.events e USING (event_type)
  GROUP BY s.step, s.event_type
)
SELECT step,
       event_type,
       sessions,
       round(100.0 * sessions / first_value(sessions) OVER (ORDER BY step), 1) AS pct_of_views
FROM reached
ORDER BY step
