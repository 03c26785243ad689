import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.resource.*;
import java.nio.file.*;
import java.util.*;
public class AclMaker {
  public static void main(String[] a) throws Exception {
    // args: dir bootstrap restype name pattern principal operation permission [delete]
    String pki = a[0] + "/pki/";
    Properties p = new Properties();
    p.put("bootstrap.servers", a[1]);
    p.put("security.protocol", "SSL");
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.certificates", Files.readString(Path.of(pki + "ca.crt")));
    p.put("ssl.keystore.type", "PEM");
    p.put("ssl.keystore.certificate.chain", Files.readString(Path.of(pki + "operator.crt")));
    p.put("ssl.keystore.key", Files.readString(Path.of(pki + "operator.key")));
    p.put("ssl.endpoint.identification.algorithm", "");
    try (Admin admin = Admin.create(p)) {
      AclBinding b = new AclBinding(new ResourcePattern(ResourceType.fromString(a[2]), a[3], PatternType.fromString(a[4])),
        new AccessControlEntry(a[5], "*", AclOperation.fromString(a[6]), AclPermissionType.fromString(a[7])));
      if (a.length > 8) { admin.deleteAcls(List.of(b.toFilter())).all().get(); System.out.println("deleted " + b); }
      else { admin.createAcls(List.of(b)).all().get(); System.out.println("created " + b); }
    }
  }
}
