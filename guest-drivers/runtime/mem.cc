// What the compiler may call on its own in freestanding code: it turns
// struct copies and zeroing loops into memcpy/memset calls. String
// instructions keep these short and stop GCC from turning a loop here back
// into a call to itself.
#include <stddef.h>

extern "C" {

void* memset(void* destination, int value, size_t count) {
  void* cursor = destination;
  asm volatile("rep stosb" : "+D"(cursor), "+c"(count) : "a"(value) : "memory");
  return destination;
}

void* memcpy(void* destination, const void* source, size_t count) {
  void* cursor = destination;
  asm volatile("rep movsb"
               : "+D"(cursor), "+S"(source), "+c"(count)
               :
               : "memory");
  return destination;
}

void* memmove(void* destination, const void* source, size_t count) {
  auto* to = static_cast<unsigned char*>(destination);
  const auto* from = static_cast<const unsigned char*>(source);
  if (to <= from || to >= from + count)
    return memcpy(destination, source, count);
  // Overlapping with the destination above: copy backwards.
  to += count - 1;
  from += count - 1;
  asm volatile("std; rep movsb; cld"
               : "+D"(to), "+S"(from), "+c"(count)
               :
               : "memory");
  return destination;
}

int memcmp(const void* a, const void* b, size_t count) {
  const auto* left = static_cast<const unsigned char*>(a);
  const auto* right = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < count; ++i) {
    if (left[i] != right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return 0;
}

// Referenced from the vtable of any class with a pure virtual function.
void __cxa_pure_virtual() {
  for (;;) asm volatile("cli; hlt");
}

}  // extern "C"
