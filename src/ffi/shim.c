/* Thin C equivalents of httpd/APR macros (APR rings, bucket type dispatch) and of variadic logging, which
 * bindgen cannot express. No logic lives here. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_buckets.h"
#include "http_protocol.h"
#include "shim.h"

/* module_index: of the record httpd loaded the module through (rwsgi_module or wsgi_module). */
void rwsgi_shim_log_rerror(const char *file, int line, int module_index, int level, apr_status_t status,
                           const request_rec *r, const char *msg)
{
    ap_log_rerror_(file, line, module_index, level, status, r, "%s", msg);
}

void rwsgi_shim_log_error(const char *file, int line, int module_index, int level, apr_status_t status,
                          const server_rec *s, const char *msg)
{
    ap_log_error_(file, line, module_index, level, status, s, "%s", msg);
}

void rwsgi_shim_brigade_insert_tail(apr_bucket_brigade *bb, apr_bucket *b) { APR_BRIGADE_INSERT_TAIL(bb, b); }
int rwsgi_shim_brigade_empty(apr_bucket_brigade *bb) { return APR_BRIGADE_EMPTY(bb); }
apr_bucket *rwsgi_shim_brigade_first(apr_bucket_brigade *bb) { return APR_BRIGADE_FIRST(bb); }
apr_bucket *rwsgi_shim_brigade_sentinel(apr_bucket_brigade *bb) { return APR_BRIGADE_SENTINEL(bb); }
apr_bucket *rwsgi_shim_bucket_next(apr_bucket *b) { return APR_BUCKET_NEXT(b); }
int rwsgi_shim_bucket_is_eos(apr_bucket *b) { return APR_BUCKET_IS_EOS(b); }
int rwsgi_shim_bucket_is_metadata(apr_bucket *b) { return APR_BUCKET_IS_METADATA(b); }
int rwsgi_shim_bucket_is_error(apr_bucket *b) { return AP_BUCKET_IS_ERROR(b); }
int rwsgi_shim_bucket_error_status(apr_bucket *b) { return ((ap_bucket_error *)(b->data))->status; }
apr_status_t rwsgi_shim_bucket_read(apr_bucket *b, const char **str, apr_size_t *len, int block)
{
    return apr_bucket_read(b, str, len, (apr_read_type_e)block);
}
void rwsgi_shim_bucket_delete(apr_bucket *b) { apr_bucket_delete(b); }
