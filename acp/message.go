package acp

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The messages we send, typed. Each marshals as one JSON-RPC 2.0 envelope with its members in the
// conventional order (jsonrpc, id, method, params; or jsonrpc, id, result or error), which is also the
// order the log shows. Incoming messages are decoded as Envelope.

// version is the JSON-RPC version every envelope carries.
const version = "2.0"

// NumberID is a numeric JSON-RPC id, as our setup requests (initialize, session/new…) use.
func NumberID(n int) json.RawMessage { return strconv.AppendInt(nil, int64(n), 10) }

// StringID is a string JSON-RPC id: a turn's, or one of the records we write ourselves.
func StringID(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// Request is a JSON-RPC request: the agent answers it with a Response under the same ID. IDs are kept raw
// so that a number stays a number and a string a string.
type Request struct {
	ID     json.RawMessage
	Method string
	Params any // omitted when nil
}

// MarshalJSON writes the envelope with "jsonrpc":"2.0".
func (r Request) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  any             `json:"params,omitempty"`
	}{version, r.ID, r.Method, r.Params})
}

// Encode marshals r once, for a caller that logs the bytes it posts (Client.Start): the log and the agent
// see the same envelope, and nothing is decoded again to send it.
func (r Request) Encode() (EncodedRequest, error) {
	b, err := r.MarshalJSON() // not json.Marshal: that would compact the same bytes a second time
	if err != nil {
		return EncodedRequest{}, fmt.Errorf("encode %s: %w", r.Method, err)
	}
	return EncodedRequest{Method: r.Method, Body: b}, nil
}

// EncodedRequest is a Request already marshalled: Body is the whole envelope, Method names it in errors.
type EncodedRequest struct {
	Method string
	Body   json.RawMessage
}

// Notification is a JSON-RPC message that expects no answer, such as session/cancel.
type Notification struct {
	Method string
	Params any // omitted when nil
}

// MarshalJSON writes the envelope with "jsonrpc":"2.0".
func (n Notification) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{version, n.Method, n.Params})
}

// Response answers the request with ID: with Error when it is set, else with Result (null when nil). ID
// is echoed raw, so an agent's numeric id 7 is answered 7 and its string "7" is answered "7".
type Response struct {
	ID     json.RawMessage
	Result any
	Error  *RPCError
	// Meta annotates the records we write ourselves (a turn ended locally says why); omitted when nil.
	Meta map[string]any
}

// MarshalJSON writes the envelope with "jsonrpc":"2.0" and exactly one of result and error.
func (r Response) MarshalJSON() ([]byte, error) {
	if r.Error != nil {
		return json.Marshal(struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Error   *RPCError       `json:"error"`
			Meta    map[string]any  `json:"_meta,omitempty"`
		}{version, r.ID, r.Error, r.Meta})
	}
	return json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  any             `json:"result"`
		Meta    map[string]any  `json:"_meta,omitempty"`
	}{version, r.ID, r.Result, r.Meta})
}
