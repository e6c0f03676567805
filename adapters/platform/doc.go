// Package platform is the kit every platform adapter is built on, so that a new adapter is
// its platform's calls and little else:
//
//   - Adapter and Registry: what the App runs (its name, its HTTP routes, Run, Close) and
//     how it is configured (a Section of the App's Config, validated with the rest);
//   - Ledger: each effect performed once against the platform (claim, complete, expire a
//     crashed claim), in memory and in Postgres;
//   - Secrets: tokens and other secrets encrypted at rest (AES-256-GCM), and StateSigner, the
//     signed, expiring, single-use state of OAuth install and sign-in flows;
//   - ingress helpers: VerifyHMAC and Fresh (signed, recent requests only), Workers
//     (acknowledge within the platform's deadline, process after), Seen (deduplicate by the
//     platform's event id), Publisher and EventID (publish with retry and deterministic ids);
//   - Directory: the communities, platforms, members and proposal outcomes an adapter learns
//     from the events on the bus, so that it never reads the engine's tables;
//   - platformtest: the conformance suite every adapter passes.
//
// The package imports bus and domain, never the engine, graph or projections: adapters meet
// the engine on the bus only.
package platform
