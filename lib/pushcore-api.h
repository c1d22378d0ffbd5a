#ifndef PUSHCORE_API_H
#define PUSHCORE_API_H

/* PUSHCORE_API marks a function libpushcore exports. The library is built
   with hidden visibility: what is not marked stays inside it. Every marked
   function is announced in lib/pushcore.map (build-aux/abi-check.sh fails
   the build otherwise); docs/driver-api.md says what the ABI promises. */
#define PUSHCORE_API __attribute__((visibility("default")))

#endif
