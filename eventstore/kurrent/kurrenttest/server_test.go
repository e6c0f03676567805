package kurrenttest_test

import (
	"context"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore/kurrent/kurrenttest"
)

func event() esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: "E", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}
}

// The server answers appends as KurrentDB documents: a batch already committed from the
// expected revision on is acknowledged without a position and written once; a batch of which
// some events are committed, or none at an old revision, is WrongExpectedVersion.
func TestAppendsFollowKurrentDBsIdempotenceRules(t *testing.T) {
	ctx := context.Background()
	cfg, err := esdb.ParseConnectionString(kurrenttest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, b := event(), event()
	first, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, a, b)
	if err != nil || first.NextExpectedVersion != 1 || first.CommitPosition == 0 {
		t.Fatalf("first append = %+v, %v", first, err)
	}
	again, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, a, b)
	if err != nil || again.NextExpectedVersion != 1 || again.CommitPosition != 0 {
		t.Fatalf("idempotent retry = %+v, %v; want revision 1 and no position", again, err)
	}
	wrong := func(rev esdb.ExpectedRevision, evs ...esdb.EventData) {
		t.Helper()
		_, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: rev}, evs...)
		if e, ok := esdb.FromError(err); ok || e.Code() != esdb.ErrorCodeWrongExpectedVersion {
			t.Fatalf("append at %T = %v, want WrongExpectedVersion", rev, err)
		}
	}
	wrong(esdb.NoStream{}, a, event()) // some committed
	wrong(esdb.Revision(0), event())   // none committed at an old revision
	wrong(esdb.Revision(5), event())   // ahead of the stream
	wrong(esdb.Any{}, event(), b)      // some committed, found by id
	rs, err := c.ReadStream(ctx, "s", esdb.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	n := 0
	for {
		if _, err := rs.Recv(); err != nil {
			break
		}
		n++
	}
	if n != 2 {
		t.Fatalf("stream holds %d events, want 2", n)
	}
}
