# Sourced by the scripts that build this checkout with SwiftPM.
#
# SwiftPM passes a dependency's enabled package traits to the compiler as -D flags in the
# order of a Swift Set, and a Set's order changes from one SwiftPM process to the next
# (per-process hash seeding). Hummingbird has two default traits, so about every other
# `swift build`/`swift test` saw its compile command "change" and recompiled HummingbirdCore
# and Hummingbird (46-63 s on 2 cores), typically between the tests and the binary. With
# deterministic hashing the order, and so the command, stays the same.
export SWIFT_DETERMINISTIC_HASHING=1
