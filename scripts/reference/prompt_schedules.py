"""A1111's prompt editing and alternation (``get_learned_conditioning_prompt_schedules``
in its modules/prompt_parser.py), transcribed with the same lark grammar:
``[from:to:when]``, ``[to:when]``, ``[from::when]`` switch prompts at a step
(a fraction of the steps when the number has a point, else a step number),
``[a|b|c]`` alternates every step. A prompt the grammar rejects is used as
it is. Returns ``[[end_step, text], ...]``: each text is used while the
sampler's step counter (0-based, one per model evaluation) is ≤ end_step.
"""

from __future__ import annotations

import lark

SCHEDULE_PARSER = lark.Lark(r"""
!start: (prompt | /[][():]/+)*
prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
!emphasized: "(" prompt ")"
        | "(" prompt ":" prompt ")"
        | "[" prompt "]"
scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
alternate: "[" prompt ("|" [prompt])+ "]"
WHITESPACE: /\s+/
plain: /([^\\\[\]():|]|\\.)+/
%import common.SIGNED_NUMBER -> NUMBER
""")


def prompt_schedule(prompt: str, steps: int):
    def collect_steps(tree):
        res = [steps]

        class CollectSteps(lark.Visitor):
            def scheduled(self, tree):
                s = tree.children[-2]
                v = float(s)
                v = v * steps if "." in s else v
                tree.children[-2] = min(steps, int(v))
                if tree.children[-2] >= 1:
                    res.append(tree.children[-2])

            def alternate(self, tree):
                res.extend(range(1, steps + 1))

        CollectSteps().visit(tree)
        return sorted(set(res))

    def at_step(step, tree):
        class AtStep(lark.Transformer):
            def scheduled(self, args):
                before, after, _, when, _ = args
                yield before or () if step <= when else after

            def alternate(self, args):
                args = ["" if not arg else arg for arg in args]
                yield args[(step - 1) % len(args)]

            def start(self, args):
                def flatten(x):
                    if isinstance(x, str):
                        yield x
                    else:
                        for gen in x:
                            yield from flatten(gen)
                return "".join(flatten(args))

            def plain(self, args):
                yield args[0].value

            def __default__(self, data, children, meta):
                for child in children:
                    yield child
        return AtStep().transform(tree)

    try:
        tree = SCHEDULE_PARSER.parse(prompt)
    except lark.exceptions.LarkError:
        return [[steps, prompt]]
    return [[t, at_step(t, tree)] for t in collect_steps(tree)]


SCHEDULE_STRINGS = [
    "a red fox", "[cat:dog:0.4]", "a [cat:dog:0.5] in snow", "[cat:dog:3]", "[cat::0.5] alone", "[:dog:5] joins",
    "[dog:0.25]", "[cat|dog]", "[cat|dog|bird] flying", "[cat|]", "a (red:1.2) [fox:wolf:0.5]",
    "[[cat:dog:0.3]:bird:0.6]", "[cat:dog:1.0]", "[cat:dog:0]", "[cat:dog:25]", "[cat : dog : 0.5]",
    "[cat:dog: 0.5 ]", "[cat:dog:+0.5]", "[cat:dog:-1]", "[cat:dog:1e1]", "unbalanced [cat:dog:0.5",
    "[cat|dog", "a:b", "(a:b)", "[a:b:c:0.5]", "((a)) [b] (c:1.5)", "[cat:dog:0.5] and [red|blue]",
    "\\[escaped:not:0.5\\]", "[cat:(dog:1.2):0.5]", "[(cat:1.2)|dog]", "a ] stray", "a ) stray (",
    "[a\\|b|c]", "BREAK [a:b:0.5] BREAK",
]
