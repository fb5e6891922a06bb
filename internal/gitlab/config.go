package gitlab

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"math"
	"net/url"
	"time"
)

// TokenType says how the connection's token is sent to GitLab.
type TokenType string

const (
	// PrivateToken is a personal, project or group access token, sent in
	// the PRIVATE-TOKEN header.
	PrivateToken TokenType = "PrivateToken"
	// OAuth is an OAuth2 access token, sent as Authorization: Bearer.
	OAuth TokenType = "OAuth"
)

// DefaultTimeout bounds one HTTP request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config is everything needed to talk to one GitLab instance on behalf of one
// GitLabConnection. Two equal configs share one cached client; any change
// (token, CA bundle, limits) builds a new one.
type Config struct {
	// Connection is "namespace/name" of the GitLabConnection. It keys the
	// client cache and is the "connection" label of the metrics, so it must
	// never be a token.
	Connection string
	// URL is the GitLab base URL, e.g. https://gitlab.example.com (with or
	// without /api/v4).
	URL string
	// Token is the secret sent with every request. It never appears in
	// errors, logs or metrics.
	Token string
	// TokenType selects the header used for Token; empty means PrivateToken.
	TokenType TokenType
	// CABundle is PEM data appended to the system roots, for instances with
	// a private CA.
	CABundle []byte
	// InsecureSkipTLSVerify turns off certificate verification. Only for a
	// user who explicitly asked for it.
	InsecureSkipTLSVerify bool
	// RequestsPerSecond is the steady request rate allowed to this
	// connection; zero or less means unlimited.
	RequestsPerSecond float64
	// Burst is how many requests may go at once above the steady rate; zero
	// means max(1, ceil(RequestsPerSecond)).
	Burst int
	// Timeout bounds one HTTP request (each attempt, including reading the
	// body); zero means DefaultTimeout.
	Timeout time.Duration
}

// validate refuses a config that cannot work, before any request is made.
func (c Config) validate() error {
	if c.Connection == "" {
		return configError("connection must be set (it keys the client cache and the metrics)")
	}
	if c.URL == "" {
		return configError("url must be set")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		// The parse error would repeat the URL, which is harmless, but keep
		// the message short and fixed.
		return configError("url must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return configError("url must not have a query or fragment")
	}
	switch c.TokenType {
	case "", PrivateToken, OAuth:
	default:
		return configError(fmt.Sprintf("unknown token type %q (want %s or %s)", c.TokenType, PrivateToken, OAuth))
	}
	if len(c.CABundle) > 0 {
		if ok := x509.NewCertPool().AppendCertsFromPEM(c.CABundle); !ok {
			return configError("caBundle holds no PEM certificate")
		}
	}
	if math.IsNaN(c.RequestsPerSecond) || c.Burst < 0 || c.Timeout < 0 {
		return configError("requestsPerSecond, burst and timeout must not be negative")
	}
	return nil
}

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c Config) tokenType() TokenType {
	if c.TokenType == "" {
		return PrivateToken
	}
	return c.TokenType
}

// fingerprint is a digest of every field, so the cache can tell whether a
// connection changed without keeping a second copy of the token around.
func (c Config) fingerprint() [sha256.Size]byte {
	h := sha256.New()
	str := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	str(c.Connection)
	str(c.URL)
	str(c.Token)
	str(string(c.TokenType))
	str(string(c.CABundle))
	str(fmt.Sprint(c.InsecureSkipTLSVerify, c.RequestsPerSecond, c.Burst, c.Timeout))
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
