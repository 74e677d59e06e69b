package exec

// RowErrorPolicy says what an operator does when an expression fails for
// one row (a bad CAST, an overflow): the source's error policy decides.
type RowErrorPolicy uint8

const (
	// FailQuery stops the query with the row's error.
	FailQuery RowErrorPolicy = iota
	// SkipRow drops the row and counts it (see the operator's Skipped).
	SkipRow
)
