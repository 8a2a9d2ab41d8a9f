// {fmt}'s compiled part, built once into libpodns. Debian ships {fmt} only as a shared library,
// which the CLI and the plugin do not load (their start-up is most of a call); header-only mode
// avoided that but compiled all of {fmt}'s formatting code into every file that formats, about a
// third of each file's compile time. So podns compiles the headers without FMT_HEADER_ONLY (they
// then declare this code instead of defining it) and defines it here, once.
#include <fmt/format.h>
#include <fmt/format-inl.h>

#include <locale>

FMT_BEGIN_NAMESPACE
namespace detail {

// The templates format.h declares but leaves to the compiled library (with FMT_API): instantiated
// for what podns formats (char, float, double).
template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;

}  // namespace detail
FMT_END_NAMESPACE
