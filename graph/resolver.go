package graph

// Resolver is the root resolver. Resolvers stay thin: queries read one read model through
// reader (relations through the request's loaders), mutations issue one command through
// Engine and read back what it decided.
type Resolver struct {
	deps     Deps
	read     reader
	accounts *Accounts
}
