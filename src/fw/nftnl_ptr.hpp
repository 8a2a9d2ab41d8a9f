// Owners for libnftnl objects, and allocation that cannot silently yield nullptr.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <cstdlib>
#include <memory>

namespace podns::fw {

template <class T, void (*Free)(const T*)>
struct NftnlFree {
  void operator()(T* p) const { Free(p); }
};
using NftnlTable = std::unique_ptr<nftnl_table, NftnlFree<nftnl_table, nftnl_table_free>>;
using NftnlChain = std::unique_ptr<nftnl_chain, NftnlFree<nftnl_chain, nftnl_chain_free>>;
using NftnlSet = std::unique_ptr<nftnl_set, NftnlFree<nftnl_set, nftnl_set_free>>;

// libnftnl allocations fail only when malloc does; podns does not try to run on after that.
template <class P>
P nftnl_checked(P p) {
  if (!p) std::abort();
  return p;
}

}  // namespace podns::fw
