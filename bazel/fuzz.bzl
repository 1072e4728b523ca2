"""libFuzzer targets built by clang-14 beside the default gcc toolchain.

The project builds with Bazel's default (gcc) toolchain, which has no
-fsanitize=fuzzer. So a fuzz target's whole closure of project code is
compiled a second time by clang-14, with coverage instrumentation and
AddressSanitizer + UndefinedBehaviorSanitizer, by an aspect: one object per
source file of each cc_library reached through `deps` (shared by every fuzz
target that reaches it), from the same headers, include paths and copts that
Bazel gives gcc. System libraries (bazel/system) come in as their -l flags.

cc_fuzz_test(name) makes:
  name         the fuzzer binary (tools/fuzz runs it for as long as asked);
  name_test    a short bounded run over the seed corpus, for `bazel test`.
The seeds are the files in fuzz_corpus/<name>/ beside the BUILD file.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//bazel:copts.bzl", "FAULTLINE_COPTS")

FUZZ_CLANG = "clang++-14"

# Coverage for libFuzzer, and every sanitizer report fatal so a finding is a
# crash with an input, never a line in a log.
FUZZ_SANITIZE = [
    "-fsanitize=fuzzer,address,undefined",
    "-fno-sanitize-recover=all",
]

_FUZZ_COMPILE = [
    "-std=c++17",
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fPIC",
]

FuzzObjectsInfo = provider(
    doc = "Objects compiled by clang for fuzzing, and the link flags they need.",
    fields = {"objects": "depset of .o files"},
)

def _include_flags(cc):
    flags = ["-D" + d for d in cc.defines.to_list()]
    flags += ["-iquote" + p for p in cc.quote_includes.to_list()]
    flags += ["-I" + p for p in cc.includes.to_list()]
    flags += ["-isystem" + p for p in cc.system_includes.to_list()]
    return flags

def _fuzz_objects_impl(target, ctx):
    transitive = [
        dep[FuzzObjectsInfo].objects
        for dep in getattr(ctx.rule.attr, "deps", [])
        if FuzzObjectsInfo in dep
    ]
    objects = []
    if ctx.rule.kind == "cc_library" and CcInfo in target:
        cc = target[CcInfo].compilation_context
        # The fuzz build is clang's, so instrumenting is for sanitizing and
        # coverage only; clang's own warnings stay warnings here (gcc's
        # build keeps -Werror for the project).
        copts = [c for c in ctx.rule.attr.copts if c != "-Werror"]
        for src in getattr(ctx.rule.files, "srcs", []):
            if src.extension not in ["cc", "cpp", "c"]:
                continue
            obj = ctx.actions.declare_file(
                "_fuzz_objs/%s/%s.o" % (ctx.label.name, src.basename[:-len(src.extension) - 1]),
            )
            args = _FUZZ_COMPILE + FUZZ_SANITIZE + copts + _include_flags(cc) + [
                "-c",
                src.path,
                "-o",
                obj.path,
            ]
            ctx.actions.run(
                executable = FUZZ_CLANG,
                arguments = args,
                inputs = depset([src], transitive = [cc.headers]),
                outputs = [obj],
                use_default_shell_env = True,
                mnemonic = "FuzzCompile",
                progress_message = "clang-14 (fuzz) %s" % src.short_path,
            )
            objects.append(obj)
    return [FuzzObjectsInfo(objects = depset(objects, transitive = transitive))]

fuzz_objects = aspect(
    implementation = _fuzz_objects_impl,
    attr_aspects = ["deps"],
)

def _fuzz_binary_impl(ctx):
    objects = depset(transitive = [d[FuzzObjectsInfo].objects for d in ctx.attr.deps])
    link_flags = []
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            for flag in linker_input.user_link_flags:
                if flag not in link_flags:
                    link_flags.append(flag)
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.run(
        executable = FUZZ_CLANG,
        arguments = FUZZ_SANITIZE + ["-o", out.path] +
                    [o.path for o in objects.to_list()] + link_flags,
        inputs = objects,
        outputs = [out],
        use_default_shell_env = True,
        mnemonic = "FuzzLink",
        progress_message = "clang-14 (fuzz) linking %s" % ctx.label,
    )
    return [DefaultInfo(executable = out, files = depset([out]))]

fuzz_binary = rule(
    implementation = _fuzz_binary_impl,
    attrs = {
        "deps": attr.label_list(aspects = [fuzz_objects], providers = [CcInfo]),
    },
    executable = True,
)

def cc_fuzz_test(name, srcs, deps, runs = 5000, max_seconds = 10):
    """A libFuzzer target, its seed corpus and a short run for `bazel test`.

    Args:
      name: the fuzzer binary's name (tools/fuzz finds it by its rule kind).
      srcs: the file defining LLVMFuzzerTestOneInput.
      deps: the libraries it fuzzes (compiled again, instrumented, by clang).
      runs: how many inputs the test runs beyond the seeds.
      max_seconds: the test's bound in time, whichever comes first.
    """
    # The committed seeds: fuzz_corpus/<name>/ beside the target, where
    # tools/fuzz finds them too.
    corpus = native.glob(["fuzz_corpus/%s/*" % name])
    if not corpus:
        fail("%s: no seed inputs in fuzz_corpus/%s/" % (name, name))

    # Only clang builds the entry (it includes FuzzedDataProvider.h, which
    # gcc's include path lacks): `manual` keeps it out of //... for gcc.
    cc_library(
        name = name + "_entry",
        testonly = True,
        tags = ["manual"],
        srcs = srcs,
        copts = FAULTLINE_COPTS,
        deps = deps,
    )
    fuzz_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_entry"],
        tags = ["fuzzer"],
    )
    native.sh_test(
        name = name + "_test",
        size = "small",
        srcs = ["//bazel:fuzz_test.sh"],
        args = [
            "$(location :%s)" % name,
            str(runs),
            str(max_seconds),
        ] + ["$(location %s)" % c for c in corpus],
        data = [":" + name] + corpus,
    )
