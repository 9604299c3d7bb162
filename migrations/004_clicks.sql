-- Clicks per link per hour, on the link's shard. A row is one instance's count for one hour as
-- flushed to one shard (`home`): rows a re-sharding copies never collide with rows flushed to the
-- new owner, so a copy can stay ON CONFLICT DO NOTHING and a total is the sum over rows.
CREATE TABLE link_clicks (
  code text NOT NULL,
  hour timestamptz NOT NULL,
  instance text NOT NULL,
  home int NOT NULL,
  clicks bigint NOT NULL,
  PRIMARY KEY (code, hour, instance, home)
);

-- Flush batches already applied on this shard, so a retried flush never counts twice.
CREATE TABLE click_batches (
  batch_id text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
