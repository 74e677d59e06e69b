#!/bin/bash
# measure_bidders.sh BIN SECONDS [serve flags...]: the README's old bidders join (datagen clicks 50/s,
# Nexmark bids at 1000 events/s paced) beside a small view; every 10 s: RSS and the time of a
# point read of the small view; then DROP's time and RSS 10, 30 and 60 s after it.
BIN=$1; SECS=$2; shift 2
D=$(mktemp -d /tmp/measure.XXXX)
PORT=$((20000 + RANDOM % 20000))
$BIN serve --listen 127.0.0.1:$PORT --data-dir $D/data --log-level warn "$@" 2>$D/log &
PID=$!
sleep 2
P="psql -X -q -h 127.0.0.1 -p $PORT -U t -d t -At"
$P <<SQL
CREATE SOURCE clicks (user_id BIGINT, url VARCHAR, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
 WITH (connector = 'datagen', rows_per_second = 50, seed = 7, fields.user_id.min = 1, fields.user_id.max = 100, fields.url.values = 'a,b,c,d', fields.ts.max_past = '1s');
CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR,
 WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND) WITH (connector = 'nexmark', table = 'bid', event_rate = 1000, pace = true);
CREATE MATERIALIZED VIEW per_url AS SELECT url, COUNT(*) AS n FROM clicks GROUP BY url;
FLUSH;
SQL
read_time() { local t0=$(date +%s.%N); $P -c "SELECT n FROM per_url WHERE url = 'a'" >/dev/null; echo "$(date +%s.%N) - $t0" | bc; }
echo "before: rss_mb=$(( $(awk '/VmRSS/{print $2}' /proc/$PID/status) / 1024 )) read_s=$(read_time)"
$P -c "CREATE MATERIALIZED VIEW bidders AS SELECT c.user_id, b.price FROM clicks c JOIN bid b ON c.user_id = b.bidder % 100"
start=$(date +%s); next=$((start + 10))
while [ $(date +%s) -lt $((start + SECS)) ]; do
  while [ $(date +%s) -lt $next ]; do sleep 0.2; done; next=$((next + 10))
  rss=$(( $(awk '/VmRSS/{print $2}' /proc/$PID/status) / 1024 ))
  echo "t=$(( $(date +%s) - start ))s rss_mb=$rss read_s=$(read_time)"
done
t0=$(date +%s.%N); $P -c "DROP MATERIALIZED VIEW bidders"; echo "drop_s=$(echo "$(date +%s.%N) - $t0" | bc)"
dropped=$(date +%s)
for after in 10 30 60; do
  while [ $(date +%s) -lt $((dropped + after)) ]; do sleep 0.2; done
  echo "${after}s after drop: rss_mb=$(( $(awk '/VmRSS/{print $2}' /proc/$PID/status) / 1024 )) read_s=$(read_time)"
done
kill $PID; wait $PID
rm -rf $D
