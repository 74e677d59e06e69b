package streamsql_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/streamsql/streamsql"
)

// A Go program embeds the engine: open it on a data directory, define
// objects, query, close. The server and the tests use this same API.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "streamsql-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := streamsql.Open(ctx, streamsql.Config{DataDir: dir, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	err = eng.Exec(ctx, `CREATE SOURCE clicks (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3),
		WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
		WITH (connector = 'kinesis', stream = 'clicks', endpoint = 'http://127.0.0.1:4567', validate = false)`)
	if err != nil {
		log.Fatal(err)
	}

	rows, err := eng.Query(ctx, "SELECT CONCAT('user-', $1) AS name, $2 + 1 AS next", "ann", 41)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		fmt.Println(rows.Row())
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output: user-ann 42
}
