package sql

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Role is what a connector is used as.
type Role uint8

const (
	RoleSource Role = iota
	RoleSink
)

func (r Role) String() string {
	if r == RoleSink {
		return "sink"
	}
	return "source"
}

// OptKind is how an option's value is checked.
type OptKind uint8

const (
	OptString    OptKind = iota // any text
	OptEnum                     // one of Values, compared without case, stored lower-cased
	OptDuration                 // '10s', '100ms', '1m'
	OptInt                      // an integer in [Min, Max]
	OptBool                     // true / false (on/off, yes/no, 1/0 too); stored "true"/"false"
	OptTimestamp                // RFC 3339 or epoch milliseconds
	OptURL                      // http:// or https:// URL
)

// OptionSpec describes one WITH option.
type OptionSpec struct {
	Key      string
	Kind     OptKind
	Values   []string // OptEnum
	Min, Max int64    // OptInt
	Default  string   // filled in when absent; "" for none
	Required bool
	// RequiredWhen makes the option required exactly when another option
	// (given or defaulted) has a value, and refused otherwise.
	RequiredWhen *Condition
	// Secret options (credentials) should not be printed back in full.
	Secret bool
	Doc    string
}

// Condition is "Key = Value".
type Condition struct{ Key, Value string }

// ConnectorSpec is the option table of one connector in one role. Adding a
// connector is adding a row to Connectors (and a section to docs/sql.md).
type ConnectorSpec struct {
	Name    string
	Role    Role
	Options []OptionSpec // besides "connector"
	// OneOf lists groups of options of which exactly one must be given.
	OneOf [][]string
	// Together lists groups of options that are given all or none.
	Together [][]string
	Doc      string
}

// kinesisAccess are the options every Kinesis source and sink shares.
var kinesisAccess = []OptionSpec{
	{Key: "stream", Doc: "the stream's name"},
	{Key: "stream_arn", Doc: "the stream's ARN, instead of stream"},
	{Key: "region", Default: "us-east-1", Doc: "AWS region"},
	{Key: "endpoint", Kind: OptURL, Doc: "endpoint URL, for a local emulator such as kinesalite"},
	{Key: "access_key", Secret: true, Doc: "AWS access key id; without it the default credential chain is used"},
	{Key: "secret_key", Secret: true, Doc: "AWS secret access key, with access_key"},
	{Key: "session_token", Secret: true, Doc: "AWS session token for temporary credentials"},
	{Key: "role_arn", Doc: "IAM role to assume"},
	{Key: "validate", Kind: OptBool, Default: "true",
		Doc: "check at CREATE that the stream exists and answers (within 10 s); false: create before the stream exists"},
}

var kinesisOneOf = [][]string{{"stream", "stream_arn"}}
var kinesisTogether = [][]string{{"access_key", "secret_key"}}

// Connectors is every connector we know, per role.
var Connectors = []ConnectorSpec{
	{
		Name: "kinesis", Role: RoleSource, OneOf: kinesisOneOf, Together: kinesisTogether,
		Doc: "reads records of an Amazon Kinesis data stream",
		Options: append(append([]OptionSpec{}, kinesisAccess...),
			OptionSpec{Key: "start_position", Kind: OptEnum, Values: []string{"latest", "trim_horizon", "at_timestamp"}, Default: "latest",
				Doc: "where every query over the source starts reading each shard"},
			OptionSpec{Key: "start_timestamp", Kind: OptTimestamp, RequiredWhen: &Condition{"start_position", "at_timestamp"},
				Doc: "with start_position = 'at_timestamp': RFC 3339 time or epoch milliseconds"},
			OptionSpec{Key: "format", Kind: OptEnum, Values: []string{"json", "csv", "raw"}, Default: "json",
				Doc: "record encoding: a JSON object per record, one CSV line in column order, or raw bytes into the single column"},
			OptionSpec{Key: "on_decode_error", Kind: OptEnum, Values: []string{"skip", "fail"}, Default: "skip",
				Doc: "a record that does not decode: count it and skip it, or fail the queries reading the source"},
			OptionSpec{Key: "dead_letter_stream",
				Doc: "a Kinesis stream that gets every record skipped by a view or sink as JSON: its stream, shard_id, sequence_number, partition_key, arrival_time, error and data (base64)"},
			OptionSpec{Key: "dead_letter_endpoint", Kind: OptURL,
				Doc: "endpoint URL of the dead_letter_stream; unset: the source's endpoint"},
			OptionSpec{Key: "shard_discovery_interval", Kind: OptDuration, Default: "10s",
				Doc: "how often the shard list is refreshed (splits and merges)"},
			OptionSpec{Key: "idle_timeout", Kind: OptDuration,
				Doc: "a shard with no records for this long stops holding the watermark back; unset: never"},
			OptionSpec{Key: "idle_watermark", Kind: OptEnum, Values: []string{"none", "wall_clock"}, Default: "none",
				Doc: "when every shard is idle: keep the watermark, or advance it with the wall clock minus the delay"},
			OptionSpec{Key: "poll_interval", Kind: OptDuration, Default: "200ms",
				Doc: "pause between GetRecords calls on a shard that is caught up (Kinesis allows 5 calls/s/shard)"},
			OptionSpec{Key: "max_records_per_call", Kind: OptInt, Min: 1, Max: 10000, Default: "10000",
				Doc: "GetRecords limit"},
		),
	},
	{
		Name: "kinesis", Role: RoleSink, OneOf: kinesisOneOf, Together: kinesisTogether,
		Doc: "writes rows to an Amazon Kinesis data stream",
		Options: append(append([]OptionSpec{}, kinesisAccess...),
			OptionSpec{Key: "format", Kind: OptEnum, Values: []string{"json"}, Default: "json",
				Doc: "record encoding: a JSON object per row"},
			OptionSpec{Key: "partition_key", Doc: "column whose value is each record's partition key; unset: a hash of the record's data"},
			OptionSpec{Key: "explicit_hash_key", Doc: "column whose value is each record's explicit hash key"},
			OptionSpec{Key: "mode", Kind: OptEnum, Values: []string{"append", "upsert"}, Default: "append",
				Doc: "append: the input must be append-only; upsert: every change is written with an op field"},
			OptionSpec{Key: "on_oversize", Kind: OptEnum, Values: []string{"fail", "skip"}, Default: "fail",
				Doc: "a record over Kinesis's 1 MiB limit: fail the sink, or count and skip it"},
			OptionSpec{Key: "linger", Kind: OptDuration, Default: "100ms",
				Doc: "how long records may wait to fill a PutRecords batch"},
		),
	},
	nexmarkSource,
	datagenSource,
	fileSource,
}

// fileSource reads local files (connectors/file).
var fileSource = ConnectorSpec{
	Name: "file", Role: RoleSource,
	Doc: "reads lines of local files: JSON lines or CSV, once or following appends",
	Options: []OptionSpec{
		{Key: "path", Required: true,
			Doc: "a file, or a glob ('/data/clicks-*.jsonl') whose files are read in name order"},
		{Key: "format", Kind: OptEnum, Values: []string{"json", "csv"}, Default: "json",
			Doc: "each line a JSON object, or a CSV record in column order"},
		{Key: "mode", Kind: OptEnum, Values: []string{"once", "follow"}, Default: "once",
			Doc: "once: read the files there, then the source ends (its watermark goes to the end, closing every window); follow: read on, lines appended and new files matching the path"},
		{Key: "on_decode_error", Kind: OptEnum, Values: []string{"skip", "fail"}, Default: "skip",
			Doc: "a line that does not decode: count it and skip it, or fail the queries reading the source"},
		{Key: "poll_interval", Kind: OptDuration, Default: "1s",
			Doc: "with mode = 'follow': how often files read to their end are looked at again"},
	},
}

// nexmarkSource is the built-in Nexmark generator (connectors/nexmark).
var nexmarkSource = ConnectorSpec{
	Name: "nexmark", Role: RoleSource,
	Doc: "generates the Nexmark auction model's person, auction or bid events",
	Options: []OptionSpec{
		{Key: "table", Kind: OptEnum, Values: []string{"person", "auction", "bid"}, Required: true,
			Doc: "which of the three event kinds this source yields; its columns must be that table's"},
		{Key: "event_rate", Kind: OptInt, Min: 1, Max: 1_000_000_000, Default: "10000",
			Doc: "events per second of event time, over all three kinds; with pace = true also per second of wall-clock time"},
		{Key: "max_events", Kind: OptInt, Min: 1, Max: 1 << 62,
			Doc: "events to generate, over all three kinds; unset: unbounded"},
		{Key: "seed", Kind: OptInt, Default: "0", Doc: "the same seed gives the same rows"},
		{Key: "pace", Kind: OptBool, Default: "false",
			Doc: "hold events back until the wall clock reaches their event time"},
		{Key: "base_time", Kind: OptTimestamp,
			Doc: "event time of the first event; unset: the time the query starts"},
	},
}

// datagenSource is the built-in rule-based generator (connectors/datagen).
var datagenSource = ConnectorSpec{
	Name: "datagen", Role: RoleSource,
	Doc: "generates rows whose columns are filled by rules",
	Options: []OptionSpec{
		{Key: "rows_per_second", Kind: OptInt, Min: 0, Max: 1_000_000_000, Default: "10000",
			Doc: "wall-clock pace of the whole source; 0: as fast as it is read"},
		{Key: "number_of_rows", Kind: OptInt, Min: 1, Max: 1 << 62,
			Doc: "rows to generate; unset: unbounded, unless a sequence column ends first"},
		{Key: "seed", Kind: OptInt, Default: "0", Doc: "the same seed gives the same rows"},
		{Key: "fields.<col>.kind", Kind: OptEnum, Values: []string{"random", "sequence"},
			Doc: "how column <col> is filled; default random"},
		{Key: "fields.<col>.min", Doc: "smallest random value (numbers, dates, timestamps)"},
		{Key: "fields.<col>.max", Doc: "largest random value"},
		{Key: "fields.<col>.start", Doc: "first value of a sequence"},
		{Key: "fields.<col>.end", Doc: "last value of a sequence"},
		{Key: "fields.<col>.step", Kind: OptDuration, Doc: "step of a timestamp sequence; default 1s"},
		{Key: "fields.<col>.length", Kind: OptInt, Min: 0, Max: 1 << 20, Doc: "length of random strings and bytes; default 100"},
		{Key: "fields.<col>.values", Doc: "comma-separated values to pick from at random"},
		{Key: "fields.<col>.max_past", Kind: OptDuration, Doc: "random timestamps fall within this long before now"},
		{Key: "fields.<col>.null_rate", Doc: "share of NULLs, from 0 to 1"},
	},
}

// LookupConnector returns the spec of a connector in a role.
func LookupConnector(role Role, name string) (*ConnectorSpec, bool) {
	for i := range Connectors {
		if c := &Connectors[i]; c.Role == role && c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func knownConnectors(role Role) string {
	var names []string
	for _, c := range Connectors {
		if c.Role == role {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}

// validateConnectorOptions checks a source's or sink's WITH options against
// its connector's spec, normalizes values and fills in defaults. pos points
// at the statement for errors about options that are missing.
func validateConnectorOptions(role Role, opts *Options, pos int) error {
	c, ok := opts.Lookup("connector")
	if !ok {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "missing required option \"connector\"").At(pos).
			WithHint("Known %s connectors: %s.", role, knownConnectors(role))
	}
	name := strings.ToLower(c.Value)
	spec, ok := LookupConnector(role, name)
	if !ok {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "unknown %s connector %q; known %s connectors: %s",
			role, c.Value, role, knownConnectors(role)).At(c.ValuePos)
	}
	for i := range opts.List {
		if opts.List[i].Key == "connector" {
			opts.List[i].Value = name
		}
	}
	what := spec.Name + " " + role.String()
	specs := append([]OptionSpec{{Key: "connector", Required: true}}, spec.Options...)
	if err := validateOptionList(what, specs, opts); err != nil {
		return err
	}
	for _, group := range spec.OneOf {
		var given []Option
		for _, k := range group {
			if o, ok := opts.Lookup(k); ok && !o.Default {
				given = append(given, o)
			}
		}
		switch {
		case len(given) == 0:
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "%s needs one of the options %s", what, strings.Join(group, ", ")).At(pos)
		case len(given) > 1:
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "options %s and %s cannot both be given", given[0].Key, given[1].Key).At(given[1].KeyPos)
		}
	}
	for _, group := range spec.Together {
		var given, missing []string
		at := 0
		for _, k := range group {
			if o, ok := opts.Lookup(k); ok {
				given = append(given, k)
				at = o.KeyPos
			} else {
				missing = append(missing, k)
			}
		}
		if len(given) > 0 && len(missing) > 0 {
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "option %s needs %s too", given[0], strings.Join(missing, ", ")).At(at)
		}
	}
	return nil
}

// validateOptionList checks opts against specs: unknown keys, value forms,
// required and conditional options; it normalizes values and appends
// defaults. what names the statement or connector in messages.
func validateOptionList(what string, specs []OptionSpec, opts *Options) error {
	find := func(key string) *OptionSpec {
		for i := range specs {
			if specs[i].Key == key || matchKeyPattern(specs[i].Key, key) {
				return &specs[i]
			}
		}
		return nil
	}
	for i := range opts.List {
		o := &opts.List[i]
		s := find(o.Key)
		if s == nil {
			var keys []string
			for _, s := range specs {
				keys = append(keys, s.Key)
			}
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "unknown option %q for %s; valid options: %s",
				o.Key, what, strings.Join(keys, ", ")).At(o.KeyPos)
		}
		v, err := checkOptionValue(s, o.Value)
		if err != nil {
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for option %q: %v", o.Key, err).At(o.ValuePos)
		}
		o.Value = v
	}
	for i := range specs {
		s := &specs[i]
		if _, ok := opts.Lookup(s.Key); !ok && s.Default != "" {
			opts.List = append(opts.List, Option{Key: s.Key, Value: s.Default, Default: true})
		}
	}
	var pos int
	if len(opts.List) > 0 {
		pos = opts.List[0].KeyPos
	}
	for i := range specs {
		s := &specs[i]
		o, given := opts.Lookup(s.Key)
		if s.Required && !given {
			return sqlerr.Newf(sqlerr.InvalidParameterValue, "missing required option %q for %s", s.Key, what).At(pos)
		}
		if c := s.RequiredWhen; c != nil {
			cv, _ := opts.Lookup(c.Key)
			holds := cv.Value == c.Value
			switch {
			case holds && !given:
				return sqlerr.Newf(sqlerr.InvalidParameterValue, "option %q is required when %s = '%s'", s.Key, c.Key, c.Value).At(cv.ValuePos)
			case !holds && given:
				return sqlerr.Newf(sqlerr.InvalidParameterValue, "option %q is only allowed when %s = '%s'", s.Key, c.Key, c.Value).At(o.KeyPos)
			}
		}
	}
	return nil
}

// columnPlaceholder in an option key stands for one column name, as in
// datagen's "fields.<col>.kind": the connector checks the name against the
// source's columns.
const columnPlaceholder = "<col>"

// matchKeyPattern reports whether key is an instance of a spec key holding
// columnPlaceholder, e.g. "fields.user_id.kind" of "fields.<col>.kind".
func matchKeyPattern(pattern, key string) bool {
	before, after, ok := strings.Cut(pattern, columnPlaceholder)
	return ok && len(key) > len(before)+len(after) && strings.HasPrefix(key, before) && strings.HasSuffix(key, after)
}

// checkOptionValue checks v against s and returns its normal form.
func checkOptionValue(s *OptionSpec, v string) (string, error) {
	switch s.Kind {
	case OptEnum:
		lv := strings.ToLower(strings.TrimSpace(v))
		for _, ok := range s.Values {
			if lv == ok {
				return lv, nil
			}
		}
		return "", textError("'" + v + "' is not one of " + strings.Join(s.Values, ", "))
	case OptDuration:
		if _, err := parseDuration(v); err != nil {
			return "", err
		}
	case OptInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", textError("'" + v + "' is not an integer")
		}
		if s.Max > 0 && (n < s.Min || n > s.Max) {
			return "", textError(v + " is not between " + strconv.FormatInt(s.Min, 10) + " and " + strconv.FormatInt(s.Max, 10))
		}
		return strconv.FormatInt(n, 10), nil
	case OptBool:
		b, err := parseBool(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatBool(b), nil
	case OptTimestamp:
		if _, err := parseTimestampOption(v); err != nil {
			return "", err
		}
	case OptURL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", textError("'" + v + "' is not an http:// or https:// URL")
		}
	default:
		if v == "" {
			return "", textError("it must not be empty")
		}
	}
	return v, nil
}
