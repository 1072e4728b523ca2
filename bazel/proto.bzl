"""Generates C++ message and gRPC service libraries with the system protoc."""

load("//bazel:copts.bzl", "FAULTLINE_COPTS")

def cc_grpc_proto_library(name, src, deps = [], visibility = None):
    """Turns one .proto into a cc_library with its messages and services.

    Args:
      name: the cc_library's name.
      src: the .proto file, relative to this package.
      deps: cc_grpc_proto_library targets for imported .proto files.
      visibility: the library's visibility.
    """
    base = src[:-len(".proto")]
    pkg = native.package_name()
    outs = [
        base + ".pb.h",
        base + ".pb.cc",
        base + ".grpc.pb.h",
        base + ".grpc.pb.cc",
    ]
    native.genrule(
        name = name + "_codegen",
        srcs = [src],
        outs = outs,
        # The import root is the workspace root, so generated includes read
        # "proto/faultline/v1/broker.pb.h" everywhere.
        cmd = " ".join([
            "protoc",
            "--proto_path=.",
            "--cpp_out=$(GENDIR)",
            "--grpc_out=$(GENDIR)",
            "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)",
            "$(location " + src + ")",
        ]),
    )
    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc", base + ".grpc.pb.cc"],
        hdrs = [base + ".pb.h", base + ".grpc.pb.h"],
        # Generated code is not ours to keep warning-free.
        copts = ["-Wno-unused-parameter"],
        deps = deps + [
            "//bazel/system:grpc",
            "//bazel/system:protobuf",
        ],
        visibility = visibility,
    )
