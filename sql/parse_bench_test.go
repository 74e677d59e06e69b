package sql

import "testing"

// BenchmarkParse measures what the front end costs per statement: the
// same query in MySQL spelling and with the Postgres forms drivers send
// (psycopg2's '...'::timestamp parameters, interval text, ~), which
// sql rewrites before TiDB parses it.
//
//	go test -run '^$' -bench Parse -benchmem ./sql/
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"mysql", "SELECT user_id, CAST(amount AS DECIMAL(10,2)) AS a, ts + INTERVAL 1 HOUR AS later FROM clicks " +
			"WHERE ts >= CAST('2024-01-01 00:00:00' AS DATETIME) AND url REGEXP '^/product' AND user_id = 42"},
		{"postgres", "SELECT user_id, amount::numeric(10,2) AS a, ts + interval '1 hour' AS later FROM clicks " +
			"WHERE ts >= '2024-01-01T00:00:00'::timestamp AND url ~ '^/product' AND user_id = 42::int8"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				if _, err := Parse(bc.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
