package engine

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// setting describes one session parameter: its default, whether Postgres
// reports it to the client with ParameterStatus, and how a value is checked
// and normalised.
type setting struct {
	def      string
	reported bool
	readOnly bool
	check    func(v string) (string, error)
}

// settingDefs are the parameters that drivers send or read. Names are lower
// case; display names keep Postgres's spelling.
var settingDefs = map[string]setting{
	"application_name":                    {def: "", reported: true},
	"client_encoding":                     {def: "UTF8", reported: true, check: checkEncoding},
	"datestyle":                           {def: "ISO, MDY", reported: true, check: checkDateStyle},
	"intervalstyle":                       {def: "postgres", reported: true},
	"timezone":                            {def: "UTC", reported: true, check: checkTimeZone},
	"extra_float_digits":                  {def: "1"},
	"search_path":                         {def: "public"},
	"server_version":                      {def: "16.0", reported: true, readOnly: true},
	"server_version_num":                  {def: "160000", readOnly: true},
	"server_encoding":                     {def: "UTF8", reported: true, readOnly: true},
	"integer_datetimes":                   {def: "on", reported: true, readOnly: true},
	"standard_conforming_strings":         {def: "on", reported: true, readOnly: true},
	"is_superuser":                        {def: "on", reported: true, readOnly: true},
	"statement_timeout":                   {def: "0", check: checkTimeout},
	"lock_timeout":                        {def: "0"},
	"idle_in_transaction_session_timeout": {def: "0"},
	"transaction_isolation":               {def: "serializable", readOnly: true},
	"default_transaction_isolation":       {def: "serializable"},
	"bytea_output":                        {def: "hex"},
}

var displayNames = map[string]string{
	"datestyle": "DateStyle", "intervalstyle": "IntervalStyle", "timezone": "TimeZone",
}

func displayName(name string) string {
	if d, ok := displayNames[name]; ok {
		return d
	}
	return name
}

// settings are one session's parameter values.
type settings map[string]string

func newSettings() settings {
	s := make(settings, len(settingDefs))
	for name, def := range settingDefs {
		s[name] = def.def
	}
	return s
}

func lookupSetting(name string) (setting, error) {
	def, ok := settingDefs[strings.ToLower(name)]
	if !ok {
		return setting{}, sqlerr.Newf(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	return def, nil
}

func (s settings) set(name, value string) error {
	name = strings.ToLower(name)
	def, err := lookupSetting(name)
	if err != nil {
		return err
	}
	if def.readOnly {
		return sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "parameter %q cannot be changed", name)
	}
	if def.check != nil {
		if value, err = def.check(value); err != nil {
			return err
		}
	}
	s[name] = value
	return nil
}

func (s settings) reset(name string) error {
	name = strings.ToLower(name)
	if name == "all" {
		for n, def := range settingDefs {
			s[n] = def.def
		}
		return nil
	}
	def, err := lookupSetting(name)
	if err != nil {
		return err
	}
	s[name] = def.def
	return nil
}

// all returns every setting as (name, value) pairs, sorted by name.
func (s settings) all() [][2]string {
	out := make([][2]string, 0, len(s))
	for n, v := range s {
		out = append(out, [2]string{displayName(n), v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func checkEncoding(v string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(v, "-", "")) {
	case "UTF8", "UNICODE":
		return "UTF8", nil
	}
	return "", sqlerr.Newf(sqlerr.FeatureNotSupported, "client_encoding %q is not supported: streamsql speaks UTF8 only", v)
}

func checkDateStyle(v string) (string, error) {
	if strings.Contains(strings.ToUpper(v), "ISO") {
		return "ISO, MDY", nil
	}
	return "", sqlerr.Newf(sqlerr.FeatureNotSupported, "DateStyle %q is not supported: only ISO", v)
}

func checkTimeZone(v string) (string, error) {
	if strings.EqualFold(v, "utc") || strings.EqualFold(v, "gmt") || v == "Etc/UTC" || v == "Z" {
		return "UTC", nil
	}
	if _, err := time.LoadLocation(v); err != nil {
		return "", sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", v)
	}
	return v, nil
}

// engineSetting is a parameter SET changes for the whole engine, not the
// session; SHOW reads it like the session's. set with "" goes back to the
// default (RESET, SET ... TO DEFAULT).
type engineSetting struct {
	show func(e *Engine) string
	set  func(e *Engine, value string) error
}

var engineSettings = map[string]engineSetting{
	"checkpoint_interval": {
		show: func(e *Engine) string { return e.CheckpointInterval().String() },
		set: func(e *Engine, value string) error {
			d, err := durationSetting("checkpoint_interval", value, DefaultCheckpointInterval)
			if err != nil {
				return err
			}
			return e.SetCheckpointInterval(d)
		},
	},
	"checkpoint_min_interval": {
		show: func(e *Engine) string { return e.CheckpointMinInterval().String() },
		set: func(e *Engine, value string) error {
			d, err := durationSetting("checkpoint_min_interval", value, DefaultCheckpointMinInterval)
			if err != nil {
				return err
			}
			return e.SetCheckpointMinInterval(d)
		},
	},
}

// durationSetting is value as a duration, or def for "".
func durationSetting(name, value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	return parseSettingDuration(name, value)
}

// setEngineSetting runs SET (or, with def, RESET or SET ... TO DEFAULT)
// of an engine-wide parameter; ok is false when name is not one.
func (e *Engine) setEngineSetting(name, value string, def bool) (ok bool, err error) {
	es, ok := engineSettings[strings.ToLower(name)]
	if !ok {
		return false, nil
	}
	if def {
		value = ""
	} else if strings.TrimSpace(value) == "" {
		return true, sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for parameter \"%s\": %q (want a duration such as '500ms' or '2s')", name, value)
	}
	return true, es.set(e, value)
}

// showSetting is SHOW name: a session parameter or an engine-wide one.
func (s *Session) showSetting(name string) (string, error) {
	name = strings.ToLower(name)
	if es, ok := engineSettings[name]; ok {
		return es.show(s.engine), nil
	}
	if _, err := lookupSetting(name); err != nil {
		return "", err
	}
	return s.settings[name], nil
}

// allSettings is SHOW ALL: every parameter SET accepts, sorted by name.
func (s *Session) allSettings() [][2]string {
	out := s.settings.all()
	for name, es := range engineSettings {
		out = append(out, [2]string{name, es.show(s.engine)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Version is what version() returns: Postgres's shape, so that tools that
// read the server's version from it find the one we report in
// server_version, then our own name and build.
func Version() string {
	build := "devel"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		build = info.Main.Version
	}
	return fmt.Sprintf("PostgreSQL %s (streamsql %s) on %s-%s, compiled by %s, 64-bit",
		settingDefs["server_version"].def, build, runtime.GOARCH, runtime.GOOS, runtime.Version())
}
