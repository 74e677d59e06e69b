package exec

import "io"

var errEOF = io.EOF
