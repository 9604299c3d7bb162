-- Retention and the hourly-to-daily compaction select rollup rows by age across all links. Rows
-- arrive roughly in time order, so a BRIN index on the hour finds them at a few pages' cost and
-- adds next to nothing to each flush's upsert (a B-tree on hour would be one more tree per row).
CREATE INDEX link_clicks_hour_brin ON link_clicks USING brin (hour);
CREATE INDEX link_click_dims_hour_brin ON link_click_dims USING brin (hour);
CREATE INDEX link_visitors_hour_brin ON link_visitors USING brin (hour);
