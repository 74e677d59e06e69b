package exec

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// marked yields rows of (k, t seconds) with the watermark (seconds) each
// was read under; wm < -1000 means none yet.
type marked struct {
	rows [][3]int64 // k, t, wm
	i    int
}

func (m *marked) Next(context.Context) (types.Row, error) {
	if m.i == len(m.rows) {
		return nil, io.EOF
	}
	m.i++
	r := m.rows[m.i-1]
	return types.Row{types.NewInt(r[0]), types.NewTimestamp(r[1] * 1e6)}, nil
}

func (m *marked) Close() {}

func (m *marked) wm() (int64, bool) {
	w := m.rows[m.i-1][2]
	return w * 1e6, w > -1000
}

func drain(t *testing.T, it RowIter) []string {
	t.Helper()
	var out []string
	for {
		r, err := it.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d@%d[%d,%d)", r[0].Int(), r[1].Int()/1e6, r[2].Int()/1e6, r[3].Int()/1e6))
	}
	slices.Sort(out)
	return out
}

// The windows of each row, less those closed when it was read; worked out
// by hand.
func TestWindowIter(t *testing.T) {
	const none = -2000
	rows := [][3]int64{{1, 1, none}, {1, 12, -1}, {2, 5, 10}, {2, 11, 12}, {2, 8, 12}}
	for _, tc := range []struct {
		name string
		o    WindowOptions
		want []string
		late int64
	}{
		{"tumble", WindowOptions{Kind: Tumble, TimeCol: 1, Size: 10e6},
			[]string{"1@12[10,20)", "1@1[0,10)", "2@11[10,20)"}, 2},
		{"hop", WindowOptions{Kind: Hop, TimeCol: 1, Size: 10e6, Slide: 5e6},
			[]string{"1@12[10,20)", "1@12[5,15)", "1@1[-5,5)", "1@1[0,10)", "2@11[10,20)", "2@11[5,15)", "2@5[5,15)", "2@8[5,15)"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &marked{rows: rows}
			it, err := NewWindowIter(m, tc.o, m.wm)
			if err != nil {
				t.Fatal(err)
			}
			if got := drain(t, it); !slices.Equal(got, tc.want) || it.Late() != tc.late {
				t.Fatalf("got %v late=%d, want %v late=%d", got, it.Late(), tc.want, tc.late)
			}
		})
	}
}

// Sessions of gap 3 per key: a row late for its own window is dropped, a
// session closed by the watermark takes no more rows.
func TestSessionIter(t *testing.T) {
	const none = -2000
	m := &marked{rows: [][3]int64{{1, 1, none}, {1, 3, none}, {2, 2, none}, {1, 12, 1}, {1, 4, 9}, {1, 8, 9}, {1, 14, 9}, {2, 5, 9}}}
	key := func(r types.Row) (types.Value, error) { return r[0], nil }
	it := NewSessionIter(m, 1, 3e6, []func(types.Row) (types.Value, error){key}, m.wm)
	// k=1: 1 and 3 make [1,6); at wm 9 it has closed, so 4 is late
	// (4+3 <= 9) and 8 opens [8,11); 12 and 14 are [12,17). k=2: 2 is
	// [2,5); 5 is late (5+3 <= 9).
	want := []string{"1@12[12,17)", "1@14[12,17)", "1@1[1,6)", "1@3[1,6)", "1@8[8,11)", "2@2[2,5)"}
	if got := drain(t, it); !slices.Equal(got, want) || it.Late() != 2 {
		t.Fatalf("got %v late=%d, want %v late=2", got, it.Late(), want)
	}
}
