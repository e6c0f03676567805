// Package archtest holds the tests of the module's import rules (which package may import
// what): they run with the other tests, so a change that breaks a rule fails CI. A rule is a
// value of the tests' rule type; add one where the others are, or in a test file of its own.
package archtest
