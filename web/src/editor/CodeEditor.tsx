import { useEffect, useRef } from "react";
import { EditorState, Compartment } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { python } from "@codemirror/lang-python";
import { yaml } from "@codemirror/lang-yaml";

// CodeMirror is only imported by the policy editor's chunk, which is loaded when that page
// opens: the first load stays small.

export type Problem = { line: number; column: number; message: string };

type Props = {
  value: string;
  onChange: (v: string) => void;
  language: "python" | "yaml";
  label: string;
  problems?: Problem[];
  testid?: string;
};

// toDiagnostics places each problem at its line (1-based; 0, unknown, is the first line),
// from its column to the end of the line.
function toDiagnostics(state: EditorState, problems: Problem[]): Diagnostic[] {
  return problems.map((p) => {
    const n = Math.min(Math.max(p.line, 1), state.doc.lines);
    const line = state.doc.line(n);
    const from = Math.min(line.from + Math.max(p.column - 1, 0), line.to);
    return { from, to: Math.max(line.to, from), severity: "error", message: p.message };
  });
}

export function CodeEditor({ value, onChange, language, label, problems = [], testid }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  change.current = onChange;
  const editable = useRef(new Compartment());
  // Set while a value from outside is put in, so that it is not reported back as an edit.
  const outside = useRef(false);

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          indentOnInput(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          language === "python" ? python() : yaml(),
          lintGutter(),
          editable.current.of(EditorView.contentAttributes.of({ "aria-label": label })),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && !outside.current) change.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // The editor is made once; value and problems reach it below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // A value set from outside (a loaded policy, an import) replaces the text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      outside.current = true;
      try {
        v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
      } finally {
        outside.current = false;
      }
    }
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state, problems)));
  }, [problems]);

  return <div className="code-editor" ref={host} data-testid={testid} />;
}
