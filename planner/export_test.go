package planner

import "io"

var errEOF = io.EOF
