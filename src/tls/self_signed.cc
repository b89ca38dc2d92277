#include "tls/self_signed.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <memory>

#include "common/durable_files.h"
#include "common/private_file.h"
#include "fmt/format.h"

namespace loch::tls {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;

constexpr int kRenewWithinDays = 30;

bool IsIpAddress(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

std::string ToPem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, object);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, n > 0 ? n : 0);
  BIO_free(bio);
  return pem;
}

std::string CertPem(X509* cert) {
  return ToPem([](BIO* bio, void* x) { return PEM_write_bio_X509(bio, static_cast<X509*>(x)); },
               cert);
}

std::string KeyPem(EVP_PKEY* key) {
  return ToPem(
      [](BIO* bio, void* k) {
        return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                        nullptr, nullptr);
      },
      key);
}

template <typename T, T* (*Read)(BIO*, T**, pem_password_cb*, void*)>
T* ReadPem(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  T* object = Read(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return object;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) {
    return absl::InternalError(
        fmt::format("cannot make the certificate extension {}: {}", value, TakeOpenSslErrors()));
  }
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  return absl::OkStatus();
}

// A certificate for `key`, named `common_name`, signed by `issuer_key` (as `issuer`, or itself
// when `issuer` is null).
absl::StatusOr<CertPtr> MakeCertificate(EVP_PKEY* key, const std::string& common_name, int days,
                                        X509* issuer, EVP_PKEY* issuer_key,
                                        const std::vector<std::pair<int, std::string>>& extensions) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate a client clock behind
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("loch"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  for (const auto& [nid, value] : extensions)
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer ? issuer : cert.get(), nid, value));
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    return absl::InternalError("cannot sign a certificate: " + TakeOpenSslErrors());
  return cert;
}

absl::StatusOr<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return absl::InternalError("cannot make a P-256 key: " + TakeOpenSslErrors());
  return key;
}

// Whether the leaf at `path` goes with the key at `key_path`, was signed by the CA at `ca_path`,
// covers every name and lives long enough. (A crash between writing a new key and its
// certificate leaves a pair that does not match: it is made again.)
bool LeafIsGood(const std::string& path, const std::string& key_path, const std::string& ca_path,
                const std::vector<std::string>& names) {
  CertPtr leaf(ReadPem<X509, PEM_read_bio_X509>(path));
  KeyPtr key(ReadPem<EVP_PKEY, PEM_read_bio_PrivateKey>(key_path));
  CertPtr ca(ReadPem<X509, PEM_read_bio_X509>(ca_path));
  if (!leaf || !key || !ca || X509_check_private_key(leaf.get(), key.get()) != 1 ||
      X509_check_issued(ca.get(), leaf.get()) != X509_V_OK) {
    return false;
  }
  time_t horizon = std::time(nullptr) + kRenewWithinDays * 86400;
  if (X509_cmp_time(X509_get0_notAfter(leaf.get()), &horizon) <= 0) return false;
  for (const std::string& name : names) {
    const int covered = IsIpAddress(name) ? X509_check_ip_asc(leaf.get(), name.c_str(), 0)
                                          : X509_check_host(leaf.get(), name.c_str(), 0, 0, nullptr);
    if (covered != 1) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<SelfSigned> EnsureSelfSigned(const SelfSignedOptions& options) {
  namespace fs = std::filesystem;
  RETURN_IF_ERROR(CreateDirectoriesDurably(options.dir, 0700));
  SelfSigned result;
  result.ca_path = options.dir + "/ca.pem";
  result.server = {options.dir + "/server.pem", options.dir + "/server-key.pem"};
  const std::string ca_key_path = options.dir + "/ca-key.pem";

  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  for (const std::string& name : options.names) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  }
  if (LeafIsGood(result.server.cert_path, result.server.key_path, result.ca_path, names)) {
    RETURN_IF_ERROR(CheckPrivateFile(result.server.key_path, /*allow_root_group_read=*/false));
    return result;
  }

  // The CA: reused when present (clients already trust it), else made.
  KeyPtr ca_key(ReadPem<EVP_PKEY, PEM_read_bio_PrivateKey>(ca_key_path));
  CertPtr ca(ReadPem<X509, PEM_read_bio_X509>(result.ca_path));
  if (ca_key && ca) RETURN_IF_ERROR(CheckPrivateFile(ca_key_path, false));
  if (!ca_key || !ca || X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    ASSIGN_OR_RETURN(ca_key, NewKey());
    ASSIGN_OR_RETURN(ca, MakeCertificate(ca_key.get(), fmt::format("loch local CA ({})", host),
                                         options.ca_days, nullptr, ca_key.get(),
                                         {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                          {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                          {NID_subject_key_identifier, "hash"}}));
    RETURN_IF_ERROR(ReplaceFileDurably(ca_key_path, KeyPem(ca_key.get()), 0600));
    RETURN_IF_ERROR(ReplaceFileDurably(result.ca_path, CertPem(ca.get()), 0644));
  }

  std::string alt_names;
  for (const std::string& name : names) {
    if (!alt_names.empty()) alt_names += ',';
    alt_names += (IsIpAddress(name) ? "IP:" : "DNS:") + name;
  }
  ASSIGN_OR_RETURN(KeyPtr leaf_key, NewKey());
  ASSIGN_OR_RETURN(CertPtr leaf,
                   MakeCertificate(leaf_key.get(), names[0], options.leaf_days, ca.get(),
                                   ca_key.get(),
                                   {{NID_basic_constraints, "critical,CA:FALSE"},
                                    {NID_key_usage, "critical,digitalSignature"},
                                    {NID_ext_key_usage, "serverAuth"},
                                    {NID_subject_alt_name, alt_names},
                                    {NID_authority_key_identifier, "keyid:always"}}));
  RETURN_IF_ERROR(ReplaceFileDurably(result.server.key_path, KeyPem(leaf_key.get()), 0600));
  RETURN_IF_ERROR(ReplaceFileDurably(result.server.cert_path,
                                     CertPem(leaf.get()) + CertPem(ca.get()), 0644));
  result.created = true;
  return result;
}

}  // namespace loch::tls
