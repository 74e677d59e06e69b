package exec

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// ExprErrors is where the operators of a continuous query (a view's or a
// sink's pipeline) report an expression that failed for one row: an
// overflow, a bad CAST. The row keeps its place: a value that cannot be
// computed is NULL, a predicate (WHERE, HAVING, a join condition) that
// cannot be computed does not pass, a join key that cannot be computed
// matches nothing. The error is counted, and the last one kept, so that
// the view can show them; the pipeline goes on, as RisingWave's does.
//
// A nil *ExprErrors fails the query with the row's error instead, which is
// what one-off queries do (their RowIter operators always fail).
type ExprErrors struct {
	n    atomic.Int64
	mu   sync.Mutex
	last ExprError
}

// ExprError is one expression error absorbed by an ExprErrors.
type ExprError struct {
	Err error
	// In names what was being computed: "SELECT a * b", "WHERE a > b",
	// "SUM(a * b)", "join key a * b", ...
	In string
	// Where is the source record, when it is known cheaply (a WHERE
	// pushed into a source's input): "source s, shard x, sequence n".
	Where string
	At    time.Time
}

// String is the error with where it happened, for SHOW and notices.
func (e ExprError) String() string {
	if e.Err == nil {
		return ""
	}
	s := e.In + ": " + e.Err.Error()
	if e.Where != "" {
		s += " (" + e.Where + ")"
	}
	return s
}

// exprText names expression i of texts after what it is ("SELECT",
// "WHERE"): "SELECT a * b", or "SELECT" alone when the text is not known.
func exprText(what string, texts []string, i int) string {
	if i < len(texts) && texts[i] != "" {
		return what + " " + texts[i]
	}
	return what
}

func havingText() string { return "HAVING" }

// Absorb counts err, raised while computing in, and returns nil; on a nil
// receiver it returns err.
func (e *ExprErrors) Absorb(in string, err error) error { return e.AbsorbAt(in, "", err) }

// AbsorbAt is Absorb with the source record the row came from.
func (e *ExprErrors) AbsorbAt(in, where string, err error) error {
	if e == nil || err == nil {
		return err
	}
	e.n.Add(1)
	e.mu.Lock()
	e.last = ExprError{Err: err, In: in, Where: where, At: time.Now()}
	e.mu.Unlock()
	return nil
}

// Warner returns an expr.Env.Warn that counts an expression's MySQL
// warning ('12abc' read as 12) as one of these errors, "in" naming the
// pipeline part, so that a view shows its warnings where it shows its
// expression errors; nil (warnings dropped) on a nil receiver. The row
// keeps the value MySQL gives. It costs nothing on a row without warnings.
func (e *ExprErrors) Warner(in string) func(*sqlerr.Error) {
	if e == nil {
		return nil
	}
	return func(w *sqlerr.Error) { _ = e.Absorb(in, w) }
}

// Count returns how many errors were absorbed; safe from any goroutine.
func (e *ExprErrors) Count() int64 {
	if e == nil {
		return 0
	}
	return e.n.Load()
}

// Last returns the last error absorbed, if any.
func (e *ExprErrors) Last() (ExprError, bool) {
	if e == nil {
		return ExprError{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last, e.last.Err != nil
}
