package sqlerr

import (
	"context"
	"errors"
)

func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
