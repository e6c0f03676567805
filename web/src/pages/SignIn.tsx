import { useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { graphql } from "../gql";
import { errorText } from "../client";

const LoginDoc = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) { id username }
  }
`);
const RegisterDoc = graphql(`
  mutation Register($username: String!, $password: String!) {
    register(username: $username, password: $password) { id }
  }
`);
const LogoutDoc = graphql(`
  mutation Logout { logout }
`);

// After signing in or out the page is loaded afresh, so every query and the websocket start
// again with the new session; the address is kept, so a vote link leads to its proposal.
function reload() {
  location.assign(location.pathname + location.search);
}

export function SignIn() {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState("");
  const [loginState, login] = useMutation(LoginDoc);
  const [registerState, register] = useMutation(RegisterDoc);
  const busy = loginState.fetching || registerState.fetching;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem("");
    if (mode === "register") {
      const r = await register({ username, password });
      if (r.error) return setProblem(errorText(r.error));
    }
    const r = await login({ username, password });
    if (r.error) return setProblem(errorText(r.error));
    reload();
  };
  const next = encodeURIComponent(location.pathname + location.search);

  return (
    <section className="narrow">
      <h1>{mode === "login" ? "Sign in" : "Create an account"}</h1>
      <form onSubmit={submit} aria-label={mode === "login" ? "Sign in" : "Register"}>
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={64}
            value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" required minLength={8} maxLength={72}
            autoComplete={mode === "login" ? "current-password" : "new-password"}
            value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {problem && <p role="alert" className="error">{problem}</p>}
        <button type="submit" disabled={busy}>{mode === "login" ? "Sign in" : "Register and sign in"}</button>
      </form>
      <p>
        {mode === "login" ? "No account yet? " : "Have an account? "}
        <button type="button" className="link" onClick={() => { setMode(mode === "login" ? "register" : "login"); setProblem(""); }}>
          {mode === "login" ? "Register" : "Sign in"}
        </button>
      </p>
      <div className="alt-signin">
        <a className="button secondary" href={`/auth/slack/login?next=${next}`}>Sign in with Slack</a>
      </div>
    </section>
  );
}

export function SignOutButton() {
  const [, logout] = useMutation(LogoutDoc);
  return (
    <button type="button" className="secondary small" onClick={async () => { await logout({}); location.assign("/"); }}>
      Sign out
    </button>
  );
}
