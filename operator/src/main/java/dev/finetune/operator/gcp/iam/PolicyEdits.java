package dev.finetune.operator.gcp.iam;

import com.google.iam.v1.Binding;
import com.google.iam.v1.Policy;
import java.util.ArrayList;
import java.util.List;

/** Pure edits of an IAM policy proto; null means "no change needed". */
final class PolicyEdits {
  private PolicyEdits() {}

  static Policy add(Policy p, String role, String member) {
    List<Binding> bindings = new ArrayList<>(p.getBindingsList());
    for (int i = 0; i < bindings.size(); i++) {
      Binding b = bindings.get(i);
      if (b.getRole().equals(role) && !b.hasCondition()) {
        if (b.getMembersList().contains(member)) {
          return null;
        }
        bindings.set(i, b.toBuilder().addMembers(member).build());
        return p.toBuilder().clearBindings().addAllBindings(bindings).build();
      }
    }
    bindings.add(Binding.newBuilder().setRole(role).addMembers(member).build());
    return p.toBuilder().clearBindings().addAllBindings(bindings).build();
  }

  static Policy remove(Policy p, String role, String member) {
    List<Binding> bindings = new ArrayList<>();
    boolean changed = false;
    for (Binding b : p.getBindingsList()) {
      if (b.getRole().equals(role) && !b.hasCondition() && b.getMembersList().contains(member)) {
        changed = true;
        List<String> members = new ArrayList<>(b.getMembersList());
        members.remove(member);
        if (!members.isEmpty()) {
          bindings.add(b.toBuilder().clearMembers().addAllMembers(members).build());
        }
      } else {
        bindings.add(b);
      }
    }
    return changed ? p.toBuilder().clearBindings().addAllBindings(bindings).build() : null;
  }
}
