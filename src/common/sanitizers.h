#pragma once
// Whether this build runs under AddressSanitizer or ThreadSanitizer (GCC's and Clang's ways of
// saying so). Their shadow memory takes terabytes of address space, so address-space caps
// (RLIMIT_AS) cannot apply under them.

namespace loch {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

}  // namespace loch
