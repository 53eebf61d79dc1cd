package client

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestErrorText(t *testing.T) {
	require.Equal(t, "mqlive: connection lost (code 2)", ErrConnectionLost.Error())
	var err error = &Error{Code: CodeTokenExpired, Message: "token expired"}
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, 4010, e.Code)
}
