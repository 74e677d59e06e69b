package types

import (
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		typ  Type
		in   string
		want string // Value.String() of the result
		code sqlerr.Code
	}{
		{TypeBool, "t", "t", ""},
		{TypeBool, " TRUE ", "t", ""},
		{TypeBool, "yes", "t", ""},
		{TypeBool, "On", "t", ""},
		{TypeBool, "1", "t", ""},
		{TypeBool, "F", "f", ""},
		{TypeBool, "no", "f", ""},
		{TypeBool, "off", "f", ""},
		{TypeBool, "0", "f", ""},
		{TypeBool, "maybe", "", sqlerr.InvalidTextRepresentation},

		{TypeInt, "42", "42", ""},
		{TypeInt, " -7 ", "-7", ""},
		{TypeInt, "+7", "7", ""},
		{TypeInt, "2147483648", "", sqlerr.NumericValueOutOfRange},
		{TypeSmallInt, "32767", "32767", ""},
		{TypeSmallInt, "32768", "", sqlerr.NumericValueOutOfRange},
		{TypeTinyInt, "-129", "", sqlerr.NumericValueOutOfRange},
		{TypeBigInt, "9223372036854775807", "9223372036854775807", ""},
		{TypeBigInt, "9223372036854775808", "", sqlerr.NumericValueOutOfRange},
		{TypeInt, "x", "", sqlerr.InvalidTextRepresentation},
		{TypeInt, "1.5", "", sqlerr.InvalidTextRepresentation},

		{TypeDouble, "1.5", "1.5", ""},
		{TypeDouble, "-1e300", "-1e+300", ""},
		{TypeDouble, "NaN", "NaN", ""},
		{TypeDouble, "Infinity", "Infinity", ""},
		{TypeDouble, "-infinity", "-Infinity", ""},
		{TypeDouble, "1e400", "", sqlerr.NumericValueOutOfRange},
		{TypeDouble, "0x10", "", sqlerr.InvalidTextRepresentation},
		{TypeDouble, "abc", "", sqlerr.InvalidTextRepresentation},
		{TypeFloat, "3.4e39", "", sqlerr.NumericValueOutOfRange},

		{Type{Kind: Decimal}, "1.50", "1.50", ""},
		{Type{Kind: Decimal}, "-0.5", "-0.5", ""},
		{Type{Kind: Decimal}, "007.25", "7.25", ""},
		{Type{Kind: Decimal}, "+.5", "0.5", ""},
		{Type{Kind: Decimal}, "-0.0", "0.0", ""},
		{Type{Kind: Decimal}, "1e-20", "0.00000000000000000001", ""},
		{Type{Kind: Decimal}, "1.5e3", "1500", ""},
		{Type{Kind: Decimal}, "15e-3", "0.015", ""},
		{Type{Kind: Decimal}, "12345678901234567890.123", "12345678901234567890.123", ""},
		{Type{Kind: Decimal}, "nan", "NaN", ""},
		{Type{Kind: Decimal}, "1.2.3", "", sqlerr.InvalidTextRepresentation},
		{Type{Kind: Decimal}, "e5", "", sqlerr.InvalidTextRepresentation},
		{DecimalType(5, 2), "1.555", "1.56", ""},
		{DecimalType(5, 2), "-1.5", "-1.50", ""},
		{DecimalType(5, 2), "999.995", "", sqlerr.NumericValueOutOfRange},
		{DecimalType(5, 2), "999.994", "999.99", ""},
		{DecimalType(3, 0), "99.5", "100", ""},

		{TypeText, "héllo", "héllo", ""},
		{VarcharType(3), "abc", "abc", ""},
		{VarcharType(3), "abc  ", "abc", ""},
		{VarcharType(3), "abcd", "", sqlerr.StringDataRightTruncation},
		{TypeUnknown, "x", "x", ""},

		{TypeBytes, `\x00ff41`, "\x00\xffA", ""},
		{TypeBytes, `\xZZ`, "", sqlerr.InvalidTextRepresentation},
		{TypeBytes, `a\\b\101`, `a\bA`, ""},
		{TypeBytes, `a\q`, "", sqlerr.InvalidTextRepresentation},

		{TypeDate, "2024-02-29", "2024-02-29", ""},
		{TypeDate, "1969-12-31", "1969-12-31", ""},
		{TypeDate, "2023-02-29", "", sqlerr.DatetimeFieldOverflow},
		{TypeDate, "2024/01/01", "", sqlerr.InvalidDatetimeFormat},
		{TypeDate, "1999-12-31 00:00:00Z", "1999-12-31", ""},
		{TypeDate, "1999-12-31 junk", "", sqlerr.InvalidDatetimeFormat},

		{TypeTimestamp, "2024-01-02 03:04:05", "2024-01-02 03:04:05", ""},
		{TypeTimestamp, "2024-01-02T03:04:05.123456", "2024-01-02 03:04:05.123456", ""},
		{TypeTimestamp, "2024-01-02 03:04:05.1234567", "2024-01-02 03:04:05.123457", ""},
		{TypeTimestamp, "2024-01-02", "2024-01-02 00:00:00", ""},
		{TypeTimestamp, "2024-01-02 03:04", "2024-01-02 03:04:00", ""},
		{TypeTimestamp, "2024-01-02 03:04:05Z", "2024-01-02 03:04:05", ""},
		{TypeTimestamp, "2024-01-02 03:04:05+02", "2024-01-02 01:04:05", ""},
		{TypeTimestamp, "2024-01-02 03:04:05-05:30", "2024-01-02 08:34:05", ""},
		{TypeTimestamp, "2024-01-02 03:04:05 +0100", "2024-01-02 02:04:05", ""},
		{TypeTimestamp, "2024-01-02 03:04:05 UTC", "2024-01-02 03:04:05", ""},
		{TypeTimestamp, "1960-01-02 03:04:05.5", "1960-01-02 03:04:05.5", ""},
		{TypeTimestamp, "2024-01-02 25:00:00", "", sqlerr.DatetimeFieldOverflow},
		{TypeTimestamp, "yesterday-ish", "", sqlerr.InvalidDatetimeFormat},
		{TypeTimestamp, "2024-01-02 03:04:05 +zz", "", sqlerr.InvalidDatetimeFormat},

		{TypeJSON, `{"a": [1, 2]}`, `{"a": [1, 2]}`, ""},
		{TypeJSON, `{"a":`, "", sqlerr.InvalidTextRepresentation},

		{TypeInterval, "1 mon 00:00:05", "1 mon 00:00:05", ""},
		{TypeInterval, "5 seconds", "00:00:05", ""},
		{TypeInterval, "1 day", "24:00:00", ""},
		{TypeInterval, "@ 2 minutes ago", "-00:02:00", ""},
		{TypeInterval, "1 year 2 mons", "14 mon 00:00:00", ""},
		{TypeInterval, "1.5 hours", "01:30:00", ""},
		{TypeInterval, "P1Y2M3DT4H5M6S", "14 mon 76:05:06", ""},
		{TypeInterval, "10", "00:00:10", ""},
		{TypeInterval, "5 fortnights", "", sqlerr.InvalidDatetimeFormat},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String()+"/"+tt.in, func(t *testing.T) {
			v, err := ParseText(tt.typ, tt.in)
			if tt.code != "" {
				if sqlerr.CodeOf(err) != tt.code {
					t.Fatalf("ParseText(%s, %q) = %v, %v; want code %s", tt.typ, tt.in, v, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseText(%s, %q): %v", tt.typ, tt.in, err)
			}
			if got := v.String(); got != tt.want {
				t.Fatalf("ParseText(%s, %q) = %q, want %q", tt.typ, tt.in, got, tt.want)
			}
		})
	}
}

func TestParseText_message(t *testing.T) {
	_, err := ParseText(TypeInt, "x")
	if want := `invalid input syntax for type integer: "x"`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}
