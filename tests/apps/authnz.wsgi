# Hook functions for WSGIAuthUserScript / WSGIAuthGroupScript / WSGIAccessScript tests.
import hashlib

USERS = {'spy': 'secret', 'citizen': 'secret', 'renamed': 'secret'}
GROUPS = {'spy': ['Secret-Agents'], 'citizen': []}


def check_password(environ, user, password):
    if user == 'broken':
        raise ValueError('the user store is down')
    if user == 'weird':
        return 42
    if user not in USERS:
        return None
    if environ.get('HTTP_AUTHORIZATION'):
        return False  # credentials must never reach the hook environ
    if user == 'renamed' and password == USERS[user]:
        return 'canonical-name'
    return password == USERS[user]


def get_realm_hash(environ, user, realm):
    if user not in USERS:
        return None
    return hashlib.md5(('%s:%s:%s' % (user, realm, USERS[user])).encode()).hexdigest()


def groups_for_user(environ, user):
    return GROUPS.get(user, ['outsiders'])


def allow_access(environ, host):
    path = environ['PATH_INFO']
    if path.endswith('/deny'):
        return False
    if path.endswith('/neutral'):
        return None
    if path.endswith('/bad'):
        return 'yes'
    return host == '127.0.0.1' and environ['mod_wsgi.application_group'] == 'gate'
