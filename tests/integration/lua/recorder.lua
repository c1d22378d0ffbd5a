-- Records every call with its values, one line each, in the file named by
-- the plugin setting push_lua_log. Runs unchanged under Dovecot's own
-- push_notification_lua (Lua 5.4) and under push_notify_lua (Lua 5.3).
local function show(v)
  if type(v) == "number" then
    return string.format("%d", math.tointeger(v) or v)
  elseif type(v) == "table" then
    local parts = {}
    for _, x in ipairs(v) do parts[#parts + 1] = show(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  elseif v == nil then
    return "nil"
  end
  return tostring(v)
end

local function record(ctx, line)
  local f = assert(io.open(ctx.log, "a"))
  f:write(line .. "\n")
  f:close()
end

local function event_line(name, e)
  local keys = {}
  for k in pairs(e) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { name }
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. show(e[k]) end
  return table.concat(parts, "\t")
end

function script_init()
  return 0
end

function dovecot_lua_notify_begin_txn(user)
  local ctx = { log = user:plugin_getenv("push_lua_log"), user = user.username }
  record(ctx, "begin\tuser=" .. user.username)
  return ctx
end

function dovecot_lua_notify_end_txn(ctx, success)
  record(ctx, "end\tsuccess=" .. tostring(success))
end

for _, name in ipairs({ "mailbox_create", "mailbox_delete", "mailbox_rename",
    "mailbox_subscribe", "mailbox_unsubscribe", "message_new", "message_append",
    "message_read", "message_trash", "message_expunge", "flags_set", "flags_clear" }) do
  _G["dovecot_lua_notify_event_" .. name] = function(ctx, e)
    record(ctx, event_line(name, e))
  end
end
