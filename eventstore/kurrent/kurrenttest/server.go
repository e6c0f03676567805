// Package kurrenttest runs an in-process, in-memory server of KurrentDB's gRPC Streams API for
// tests, built on the generated protocol packages that ship with the KurrentDB Go client. It
// keeps the semantics KurrentDB documents for what the client calls:
//
//   - appends check the expected revision (any, no_stream, stream_exists, exact) and answer
//     WrongExpectedVersion with the stream's current revision when it does not hold;
//   - appends are idempotent by event id within a stream: a batch whose ids are already
//     committed from the expected revision on (or, with any, anywhere in the stream) is
//     acknowledged without writing, with no log position; a batch of which only some events
//     are committed is refused as WrongExpectedVersion;
//   - $all holds every event once in commit order, each at a (commit, prepare) position;
//     reading $all from a position includes an event at that position, subscribing from it
//     does not;
//   - catch-up subscriptions to $all send a confirmation, the stored events, caught-up, then
//     live events, honouring stream-name and event-type filters.
//
// Deleting streams, persistent subscriptions, projections and gossip are not served: a
// single-node connection string (esdb://host:port?tls=false) needs none of them.
package kurrenttest

import (
	"errors"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// positionStep spaces the positions of $all like byte offsets in a log file, so that no
// event sits at position 0.
const positionStep = 64

type event struct {
	id       uuid.UUID
	stream   string
	revision uint64
	position uint64 // commit and prepare position alike
	metadata map[string]string
	custom   []byte
	data     []byte
}

// Server is the in-memory store behind the gRPC service.
type Server struct {
	api.UnimplementedStreamsServer

	mu      sync.Mutex
	log     []*event
	streams map[string][]*event
	changed chan struct{} // closed and replaced on every commit
}

// NewServer returns an empty server that is not listening.
func NewServer() *Server {
	return &Server{streams: make(map[string][]*event), changed: make(chan struct{})}
}

// Start serves a new empty server on a loopback port until the test ends and returns its
// connection string.
func Start(tb testing.TB) string {
	tb.Helper()
	url, stop, err := Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("kurrenttest: %v", err)
	}
	tb.Cleanup(stop)
	return url
}

// Listen serves a new empty server on addr and returns its connection string and a stop
// function.
func Listen(addr string) (string, func(), error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	gs := grpc.NewServer()
	api.RegisterStreamsServer(gs, NewServer())
	go func() { _ = gs.Serve(lis) }()
	return "esdb://" + lis.Addr().String() + "?tls=false", gs.Stop, nil
}

// Append implements the client-streaming append: an options message, then the events.
func (s *Server) Append(stream api.Streams_AppendServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "first message must be options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return status.Error(codes.InvalidArgument, "empty stream name")
	}
	var proposed []*api.AppendReq_ProposedMessage
	for {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if p := msg.GetProposedMessage(); p != nil {
			proposed = append(proposed, p)
		}
	}
	resp, err := s.append(name, opts, proposed)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (s *Server) append(name string, opts *api.AppendReq_Options, proposed []*api.AppendReq_ProposedMessage) (*api.AppendResp, error) {
	ids := make([]uuid.UUID, len(proposed))
	for i, p := range proposed {
		id, err := fromUUID(p.GetId())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		ids[i] = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.streams[name]
	n := uint64(len(cur))
	// idempotent reports whether ids are the events of cur from index from on: true when all
	// are, an error when some are.
	idempotent := func(from uint64) (bool, bool) {
		if len(ids) == 0 {
			return false, true
		}
		match := 0
		for i, id := range ids {
			if from+uint64(i) < n && cur[from+uint64(i)].id == id {
				match++
			}
		}
		return match == len(ids), match == 0
	}
	wrong := func() (*api.AppendResp, error) { return wrongExpected(cur, opts), nil }
	switch exp := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		switch {
		case exp.Revision+1 > n:
			return wrong()
		case exp.Revision+1 < n:
			if all, _ := idempotent(exp.Revision + 1); all {
				return duplicate(exp.Revision + uint64(len(ids))), nil
			}
			return wrong()
		}
	case *api.AppendReq_Options_NoStream:
		if n > 0 {
			if all, _ := idempotent(0); all {
				return duplicate(uint64(len(ids)) - 1), nil
			}
			return wrong()
		}
	case *api.AppendReq_Options_StreamExists, *api.AppendReq_Options_Any:
		if _, exists := exp.(*api.AppendReq_Options_StreamExists); exists && n == 0 {
			return wrong()
		}
		// With any, KurrentDB looks the ids up wherever they are in the stream.
		if len(ids) > 0 {
			at := slices.IndexFunc(cur, func(e *event) bool { return e.id == ids[0] })
			if at >= 0 {
				if all, _ := idempotent(uint64(at)); all {
					return duplicate(uint64(at + len(ids) - 1)), nil
				}
				return wrong()
			}
			for _, id := range ids[1:] {
				if slices.ContainsFunc(cur, func(e *event) bool { return e.id == id }) {
					return wrong()
				}
			}
		}
	default:
		return nil, status.Error(codes.InvalidArgument, "no expected revision")
	}
	if len(proposed) == 0 {
		return success(n, 0, false), nil
	}
	created := strconv.FormatInt(time.Now().UnixNano()/100, 10)
	var last uint64
	for i, p := range proposed {
		md := make(map[string]string, len(p.GetMetadata())+1)
		for k, v := range p.GetMetadata() {
			md[k] = v
		}
		md["created"] = created
		last = uint64(len(s.log)+1) * positionStep
		e := &event{
			id: ids[i], stream: name, revision: n + uint64(i), position: last, metadata: md,
			custom: slices.Clone(p.GetCustomMetadata()), data: slices.Clone(p.GetData()),
		}
		s.log = append(s.log, e)
		s.streams[name] = append(s.streams[name], e)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return success(n+uint64(len(proposed))-1, last, true), nil
}

func success(revision, position uint64, withPosition bool) *api.AppendResp {
	ok := &api.AppendResp_Success{CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: revision}}
	if withPosition {
		ok.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{CommitPosition: position, PreparePosition: position}}
	} else {
		ok.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: ok}}
}

// duplicate acknowledges an idempotent append: KurrentDB reports the revision of the batch's
// last event and, since nothing was written, no position.
func duplicate(lastRevision uint64) *api.AppendResp {
	return success(lastRevision, 0, false)
}

func wrongExpected(cur []*event, opts *api.AppendReq_Options) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	if len(cur) == 0 {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(len(cur) - 1)}
	}
	switch exp := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.Revision}
	case *api.AppendReq_Options_NoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// Read serves stream reads, $all reads and $all (or stream) catch-up subscriptions.
func (s *Server) Read(req *api.ReadReq, out api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "no options")
	}
	match, err := filter(opts.GetFilter())
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	backward := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	if opts.GetSubscription() != nil {
		if backward {
			return status.Error(codes.InvalidArgument, "subscriptions read forwards")
		}
		return s.subscribe(opts, match, out)
	}
	count := opts.GetCount()
	var page []*event
	s.mu.Lock()
	if so := opts.GetStream(); so != nil {
		cur, ok := s.streams[string(so.GetStreamIdentifier().GetStreamName())]
		if !ok {
			s.mu.Unlock()
			return out.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{StreamIdentifier: so.GetStreamIdentifier()}}})
		}
		page = readStream(cur, so, backward, count)
	} else {
		page = readAll(s.log, opts.GetAll(), backward, count, match)
	}
	s.mu.Unlock()
	for _, e := range page {
		if err := out.Send(eventResp(e)); err != nil {
			return err
		}
	}
	return nil
}

func readStream(cur []*event, so *api.ReadReq_Options_StreamOptions, backward bool, count uint64) []*event {
	n := uint64(len(cur))
	var page []*event
	if !backward {
		from := uint64(0)
		switch r := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = r.Revision
		case *api.ReadReq_Options_StreamOptions_End:
			from = n
		}
		for i := from; i < n && uint64(len(page)) < count; i++ {
			page = append(page, cur[i])
		}
		return page
	}
	from := int64(n) - 1
	switch r := so.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = min(int64(r.Revision), int64(n)-1)
	case *api.ReadReq_Options_StreamOptions_Start:
		from = min(0, int64(n)-1)
	}
	for i := from; i >= 0 && uint64(len(page)) < count; i-- {
		page = append(page, cur[i])
	}
	return page
}

func readAll(log []*event, ao *api.ReadReq_Options_AllOptions, backward bool, count uint64, match func(*event) bool) []*event {
	var page []*event
	if !backward {
		from := uint64(0)
		switch p := ao.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			from = p.Position.GetCommitPosition()
		case *api.ReadReq_Options_AllOptions_End:
			return nil
		}
		for _, e := range log {
			if uint64(len(page)) == count {
				break
			}
			if e.position >= from && match(e) {
				page = append(page, e)
			}
		}
		return page
	}
	before := ^uint64(0)
	switch p := ao.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		before = p.Position.GetCommitPosition()
	case *api.ReadReq_Options_AllOptions_Start:
		return nil
	}
	for i := len(log) - 1; i >= 0 && uint64(len(page)) < count; i-- {
		if log[i].position < before && match(log[i]) {
			page = append(page, log[i])
		}
	}
	return page
}

// subscribe streams the events after the requested position (exclusive), then waits for new
// ones until the client goes away.
func (s *Server) subscribe(opts *api.ReadReq_Options, match func(*event) bool, out api.Streams_ReadServer) error {
	ctx := out.Context()
	if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	var keep func(*event) bool
	var after uint64
	caughtUp := false
	if so := opts.GetStream(); so != nil {
		name := string(so.GetStreamIdentifier().GetStreamName())
		var fromRev int64 = -1
		switch r := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			fromRev = int64(r.Revision)
		case *api.ReadReq_Options_StreamOptions_End:
			s.mu.Lock()
			fromRev = int64(len(s.streams[name])) - 1
			s.mu.Unlock()
		}
		keep = func(e *event) bool { return e.stream == name && int64(e.revision) > fromRev }
	} else {
		switch p := opts.GetAll().GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			after = p.Position.GetCommitPosition()
		case *api.ReadReq_Options_AllOptions_End:
			s.mu.Lock()
			after = uint64(len(s.log)) * positionStep
			s.mu.Unlock()
		}
		keep = match
	}
	next := 0
	for {
		s.mu.Lock()
		batch := slices.Clone(s.log[next:])
		next = len(s.log)
		changed := s.changed
		s.mu.Unlock()
		for _, e := range batch {
			if e.position <= after || !keep(e) {
				continue
			}
			if err := out.Send(eventResp(e)); err != nil {
				return err
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := out.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-changed:
		}
	}
}

// filter compiles a subscription filter on stream names or event types.
func filter(f *api.ReadReq_Options_FilterOptions) (func(*event) bool, error) {
	if f == nil {
		return func(*event) bool { return true }, nil
	}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	field := func(e *event) string { return e.stream }
	if x := f.GetStreamIdentifier(); x != nil {
		expr = x
	} else {
		expr = f.GetEventType()
		field = func(e *event) string { return e.metadata["type"] }
	}
	if expr == nil {
		return func(*event) bool { return true }, nil
	}
	var re *regexp.Regexp
	if expr.GetRegex() != "" {
		var err error
		if re, err = regexp.Compile(expr.GetRegex()); err != nil {
			return nil, err
		}
	}
	prefixes := expr.GetPrefix()
	return func(e *event) bool {
		v := field(e)
		if re != nil && !re.MatchString(v) {
			return false
		}
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(v, p) {
				return true
			}
		}
		return false
	}, nil
}

func eventResp(e *event) *api.ReadResp {
	most, least := toUUID(e.id)
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(e.stream)},
			StreamRevision:   e.revision,
			PreparePosition:  e.position,
			CommitPosition:   e.position,
			Metadata:         e.metadata,
			CustomMetadata:   e.custom,
			Data:             e.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: e.position},
	}}}
}

func toUUID(id uuid.UUID) (int64, int64) {
	var most, least uint64
	for i := range 8 {
		most = most<<8 | uint64(id[i])
		least = least<<8 | uint64(id[8+i])
	}
	return int64(most), int64(least)
}

func fromUUID(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		var id uuid.UUID
		most, least := uint64(st.GetMostSignificantBits()), uint64(st.GetLeastSignificantBits())
		for i := 7; i >= 0; i-- {
			id[i] = byte(most)
			id[8+i] = byte(least)
			most >>= 8
			least >>= 8
		}
		return id, nil
	}
	return uuid.Parse(u.GetString_())
}
