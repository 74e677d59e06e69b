// Package sqlerr owns the error type that carries a Postgres SQLSTATE and a
// position in the statement text from where an error is born to the client.
// It imports nothing of ours.
package sqlerr

import (
	"errors"
	"fmt"
)

// Code is a five-character SQLSTATE.
type Code string

// The SQLSTATEs we use. Names follow the Postgres manual's condition names.
const (
	SuccessfulCompletion         Code = "00000"
	Warning                      Code = "01000"
	FeatureNotSupported          Code = "0A000"
	CardinalityViolation         Code = "21000"
	ConnectionException          Code = "08000"
	UnableToEstablishConnection  Code = "08001" // sqlclient_unable_to_establish_sqlconnection
	ProtocolViolation            Code = "08P01"
	DataException                Code = "22000"
	StringDataRightTruncation    Code = "22001"
	NumericValueOutOfRange       Code = "22003"
	InvalidDatetimeFormat        Code = "22007"
	DatetimeFieldOverflow        Code = "22008"
	DivisionByZero               Code = "22012"
	CharacterNotInRepertoire     Code = "22021"
	InvalidParameterValue        Code = "22023"
	InvalidEscapeSequence        Code = "22025"
	InvalidRegularExpression     Code = "2201B"
	InvalidTextRepresentation    Code = "22P02"
	InvalidJSONText              Code = "22032"
	InvalidAuthorization         Code = "28000"
	InvalidPassword              Code = "28P01"
	DependentObjectsStillExist   Code = "2BP01"
	NotNullViolation             Code = "23502"
	UniqueViolation              Code = "23505"
	ActiveSQLTransaction         Code = "25001"
	NoActiveSQLTransaction       Code = "25P01"
	InFailedSQLTransaction       Code = "25P02"
	InvalidSQLStatementName      Code = "26000"
	InvalidCursorName            Code = "34000"
	SyntaxError                  Code = "42601"
	InvalidName                  Code = "42602"
	ReservedName                 Code = "42939"
	UndefinedColumn              Code = "42703"
	UndefinedFunction            Code = "42883"
	UndefinedTable               Code = "42P01"
	UndefinedParameter           Code = "42P02"
	UndefinedObject              Code = "42704"
	DuplicateColumn              Code = "42701"
	DuplicateObject              Code = "42710"
	DuplicateTable               Code = "42P07"
	DuplicatePreparedStatement   Code = "42P05"
	DuplicateCursor              Code = "42P03"
	AmbiguousColumn              Code = "42702"
	DatatypeMismatch             Code = "42804"
	CollationMismatch            Code = "42P21"
	GroupingError                Code = "42803"
	InvalidParameterType         Code = "42P18"
	WrongObjectType              Code = "42809"
	InvalidObjectDefinition      Code = "42P17"
	ProgramLimitExceeded         Code = "54000"
	ObjectNotInPrerequisiteState Code = "55000"
	QueryCanceled                Code = "57014"
	AdminShutdown                Code = "57P01"
	IOError                      Code = "58030"
	UndefinedFile                Code = "58P01"
	InsufficientPrivilege        Code = "42501"
	Internal                     Code = "XX000"
)

// Error is an error with a SQLSTATE, the shape Postgres clients expect.
type Error struct {
	Code    Code
	Message string
	Detail  string
	Hint    string
	// Position is the 1-based character offset in the statement text sent by
	// the client that the error points at; 0 when there is none.
	Position int
	cause    error
}

// Newf returns an error with a code and a formatted message.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap gives err a code and a message prefix. When err already carries a
// code other than Internal, the innermost, more specific code wins.
func Wrap(err error, code Code, msg string) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Code: code, Message: msg + ": " + err.Error(), cause: err}
	var inner *Error
	if errors.As(err, &inner) {
		if inner.Code != Internal && inner.Code != "" {
			e.Code = inner.Code
		}
		e.Message = msg + ": " + inner.Message
		e.Detail, e.Hint, e.Position = inner.Detail, inner.Hint, inner.Position
	}
	return e
}

// At returns a copy of e pointing at a 1-based character position.
func (e *Error) At(pos int) *Error {
	c := *e
	c.Position = pos
	return &c
}

// WithHint returns a copy of e with a hint.
func (e *Error) WithHint(format string, args ...any) *Error {
	c := *e
	c.Hint = fmt.Sprintf(format, args...)
	return &c
}

// WithDetail returns a copy of e with a detail.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the error e wraps, if any.
func (e *Error) Unwrap() error { return e.cause }

// SQLState returns the five-character code, as pgx's PgError does.
func (e *Error) SQLState() string { return string(e.Code) }

// Flatten turns any error into one *Error for a client: the outermost
// *Error's message with its code, or XX000 "internal error: ..." for an
// error that nobody coded. Context cancellation becomes 57014.
func Flatten(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if isCanceled(err) {
		return &Error{Code: QueryCanceled, Message: "canceling statement due to user request", cause: err}
	}
	return &Error{Code: Internal, Message: "internal error: " + err.Error(), cause: err}
}

// CodeOf returns err's code, Internal for an uncoded error and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return Flatten(err).Code
}

// Shift moves the position of a coded error by offset characters, for an
// error found in one statement of a longer text. Errors without a position
// are returned unchanged.
func Shift(err error, offset int) error {
	var e *Error
	if offset == 0 || !errors.As(err, &e) || e.Position == 0 {
		return err
	}
	return e.At(e.Position + offset)
}
