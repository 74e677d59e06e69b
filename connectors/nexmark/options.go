package nexmark

import (
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// ParseOptions reads a source's WITH options (already checked and given
// their defaults by the sql package's connector table): table, event_rate,
// max_events, seed, pace, base_time. Keys it does not know are ignored, so
// the caller can pass every option of the source.
func ParseOptions(with map[string]string) (Options, error) {
	var o Options
	var err error
	if v, ok := with["table"]; ok {
		if o.Table, err = ParseTable(v); err != nil {
			return o, err
		}
	}
	for key, dst := range map[string]*int64{"event_rate": &o.EventRate, "max_events": &o.MaxEvents} {
		if v, ok := with[key]; ok {
			if *dst, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
				return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark option %s: %q is not an integer", key, v)
			}
		}
	}
	if v, ok := with["seed"]; ok {
		s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark option seed: %q is not an integer", v)
		}
		o.Seed = uint64(s)
	}
	if v, ok := with["pace"]; ok {
		if o.Pace, err = strconv.ParseBool(strings.TrimSpace(v)); err != nil {
			return o, sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark option pace: %q is not true or false", v)
		}
	}
	if v, ok := with["base_time"]; ok {
		if o.BaseTime, err = parseTime(v); err != nil {
			return o, err
		}
	}
	return o, o.Validate()
}

// parseTime reads RFC 3339 or epoch milliseconds, as OptTimestamp allows,
// into microseconds.
func parseTime(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return ms * 1000, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark option base_time: %q is neither RFC 3339 nor epoch milliseconds", v)
	}
	return t.UnixMicro(), nil
}
