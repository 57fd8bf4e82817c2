// common.cc: argument conversion shared by the area files.
// Wrong JS types throw TypeError; anything a caller could get wrong at run time is an errno.
#include "glibc_compat.h"
#include "common.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

#include <new>

double IntIn(const Napi::Env& env, const Napi::Value& v, double min, double max, const std::string& what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d >= min && d <= max && d == trunc(d)) return d;
  char msg[256];
  if (isnan(d)) {
    snprintf(msg, sizeof(msg), "The value of \"%s\" is out of range. It must be an integer. Received NaN", what.c_str());
  } else if (d == trunc(d)) {
    snprintf(msg, sizeof(msg), "The value of \"%s\" is out of range. It must be >= %.17g && <= %.17g. Received %.17g", what.c_str(), min, max, d);
  } else {
    snprintf(msg, sizeof(msg), "The value of \"%s\" is out of range. It must be an integer. Received %.17g", what.c_str(), d);
  }
  Napi::Error e = Napi::RangeError::New(env, msg);
  e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  throw e;
}

int ArgIntIn(const Napi::CallbackInfo& info, size_t i, double min, double max) {
  return static_cast<int>(IntIn(info.Env(), info[i], min, max, "argument " + std::to_string(i)));
}

int ArgInt(const Napi::CallbackInfo& info, size_t i) { return ArgIntIn(info, i, INT_MIN, INT_MAX); }

bool ArgBool(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

std::vector<int> ArgFds(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int> fds;
  if (info[i].IsNull() || info[i].IsUndefined()) return fds;
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an array of fds");
  Napi::Array a = info[i].As<Napi::Array>();
  fds.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "fds must be numbers");
    fds.push_back(static_cast<int>(IntIn(info.Env(), v, 0, INT_MAX, "fds[" + std::to_string(k) + "]")));
  }
  return fds;
}

void ArgIovecs(const Napi::CallbackInfo& info, size_t i, std::vector<struct iovec>* out) {
  auto push = [&](const Napi::Value& v) {
    if (!v.IsBuffer()) throw Napi::TypeError::New(info.Env(), "expected a Buffer or an array of Buffers");
    auto b = v.As<Napi::Buffer<uint8_t>>();
    out->push_back({b.Data(), b.Length()});
  };
  if (info[i].IsArray()) {
    Napi::Array a = info[i].As<Napi::Array>();
    out->reserve(out->size() + a.Length());
    for (uint32_t k = 0; k < a.Length(); k++) push(a.Get(k));
  } else {
    push(info[i]);
  }
}

#if defined(__GLIBCXX__)
// node-addon-api's `new napi_value[argc]` makes GCC >= 11 reference this GLIBCXX_3.4.29 helper;
// a local definition keeps the prebuild loadable with the libstdc++ of older distributions.
namespace std {
[[noreturn]] void __throw_bad_array_new_length() {
  throw std::bad_array_new_length();
}
}  // namespace std
#endif
