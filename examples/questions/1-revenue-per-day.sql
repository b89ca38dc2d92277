-- Revenue per day: orders and revenue for each day of deals.
SELECT CAST(ordered_at AS DATE) AS day,
       count(*)                 AS orders,
       CAST(sum(amount) AS DECIMAL(18, 2)) AS revenue
FROM shop.orders
GROUP BY day
ORDER BY day
