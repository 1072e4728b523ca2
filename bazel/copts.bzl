"""Compiler options for faultline's own code."""

# Warnings are errors in project code; system headers stay out of -Werror
# because Bazel passes them with -isystem.
FAULTLINE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
]
