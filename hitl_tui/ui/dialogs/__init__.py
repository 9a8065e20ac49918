"""Modal dialogs: reject (reason required), feedback (free text), edit (JSON with validation and a diff), confirm,
and the help screen generated from the bindings."""
