package sandbox

import "fmt"

// Kind is what sort of failure an error is, for callers to decide on (errors.Is with the matching Err*
// value). It adds nothing to the error's text: the message already says what went wrong and what to do,
// and it is what a model reads, so a sentinel's words appended to it would be noise that something would
// then have to cut out again.
type Kind int

// The kinds, one per sentinel error. The zero Kind is none: it matches no sentinel.
const (
	NotFound           Kind = iota + 1 // ErrNotFound
	Exists                             // ErrExists
	Invalid                            // ErrInvalid
	Unavailable                        // ErrUnavailable
	UnsupportedVersion                 // ErrUnsupportedVersion
)

// sentinels maps each Kind to the value errors.Is matches it against.
var sentinels = [...]error{
	NotFound:           ErrNotFound,
	Exists:             ErrExists,
	Invalid:            ErrInvalid,
	Unavailable:        ErrUnavailable,
	UnsupportedVersion: ErrUnsupportedVersion,
}

// kindError is an error of a Kind: its text is its message alone, it unwraps to its causes and it is
// the Kind's sentinel for errors.Is.
type kindError struct {
	kind Kind
	err  error // fmt.Errorf(format, args...): the text, and the causes its %w verbs wrap
}

// Errorf formats like fmt.Errorf (%w wraps a cause) and returns an error of kind k whose text is exactly
// the formatted message: errors.Is(err, ErrInvalid) holds for Errorf(Invalid, …), and no "invalid
// request" is added. Use it, not %w of a sentinel, for every failure of a known kind.
func Errorf(k Kind, format string, args ...any) error {
	return &kindError{kind: k, err: fmt.Errorf(format, args...)}
}

func (e *kindError) Error() string { return e.err.Error() }

// Unwrap returns the formatted error, through which errors.Is and errors.As reach the causes.
func (e *kindError) Unwrap() error { return e.err }

// Is reports whether target is the sentinel of e's kind; the causes are matched through Unwrap.
func (e *kindError) Is(target error) bool {
	return e.kind > 0 && int(e.kind) < len(sentinels) && target == sentinels[e.kind]
}
