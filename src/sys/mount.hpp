// umount2(2) for podns's pins. EBUSY from it is the kernel's answer to a mount in use, which a
// test cannot arrange at will for a lazy (MNT_DETACH) unmount: this wrapper is the fault point
// sys.umount where the tests inject it (sys/fault.hpp). Same contract as the system call.
#pragma once

namespace podns::sys {

int umount2(const char* target, int flags);

}  // namespace podns::sys
