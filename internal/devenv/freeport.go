package devenv

import (
	"fmt"
	"net"
)

// FreeAddr returns a 127.0.0.1 address with a port nobody listens on now.
// Another program could take the port before ours binds it; the window is
// short, and a program that loses the race fails to start, loudly.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
